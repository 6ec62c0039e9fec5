// Placeholder: the console's script comes from the console-ui branch (docs/console.md).
"use strict";
