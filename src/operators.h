/* SPDX-License-Identifier: ISC */
/*
 * operators.h: the console's operator accounts (docs/console.md), kept in
 * the store (table operators): a name, a role, a language and an Argon2id
 * hash of the password (libsodium crypto_pwhash_str), never the password.
 * The CLI writes them (`hotline operator`), daemon running or not; the
 * console reads them at every request, so a removal or a new password
 * takes effect at once.
 */
#ifndef HL_OPERATORS_H
#define HL_OPERATORS_H

#include <sodium.h>

#include "hl.h"
#include "msg.h"
#include "store.h"

/* watch: read, acknowledge, send ROUTINE/PRIORITY; duty: + FLASH/IMMEDIATE, suspend/resume;
 * admin: + (later) peers and operators. Ordered: a higher role may do what a lower one may. */
enum hl_role { HL_ROLE_WATCH = 0, HL_ROLE_DUTY = 1, HL_ROLE_ADMIN = 2 };

#define HL_PASSWORD_MAX 1024                 /* bytes of a password */
#define HL_PWHASH_MAX crypto_pwhash_STRBYTES /* an encoded hash, with its NUL */

/* How costly new password hashes are (config key password_cost). */
enum hl_pwcost {
	HL_PWCOST_INTERACTIVE = 0, /* Argon2id t=2, 64 MiB: libsodium's interactive (default) */
	HL_PWCOST_MODERATE = 1,    /* t=3, 256 MiB */
	HL_PWCOST_MINIMUM = 2,     /* t=1, 8 MiB: for tests on loaded machines only */
};
const char *hl_pwcost_name(unsigned cost);
HL_MUST_CHECK int hl_pwcost_parse(const char *s, unsigned *cost);

struct hl_operator {
	char name[HL_OPERATOR_MAX + 1];
	unsigned role;     /* enum hl_role */
	unsigned language; /* enum hl_lang */
	char pwhash[HL_PWHASH_MAX];
	uint64_t generation; /* 1, then one more at every new password */
	uint64_t created_ns, changed_ns;
};

/* "watch", "duty", "admin"; "?" for anything else. */
const char *hl_role_name(unsigned role);
/* Exactly one of those to enum hl_role; HL_ERR_INVAL else. */
HL_MUST_CHECK int hl_role_parse(const char *s, unsigned *role);

/*
 * An operator's name is what acknowledgments and notices carry: 1 to
 * HL_OPERATOR_MAX bytes of UTF-8 on one line (hl_field_valid), no leading
 * or trailing space, e.g. "Col. Li Wei".
 */
bool hl_operator_name_valid(const char *name);

/*
 * Hash a password (len bytes) for storing: Argon2id at cost, encoded with
 * its salt and parameters (crypto_pwhash_str). HL_ERR_NOMEM when the
 * memory it needs is not there.
 */
HL_MUST_CHECK int hl_operator_hash(const char *pw, size_t len, unsigned cost,
                                   char out[static HL_PWHASH_MAX]);
/* Does the password match the stored hash? HL_OK or HL_ERR_AUTH (also for a damaged hash). */
HL_MUST_CHECK int hl_operator_verify(const char *pwhash, const char *pw, size_t len);

/* HL_ERR_EXISTS when the name is taken, HL_ERR_INVAL for a bad name, role or language. */
HL_MUST_CHECK int hl_operator_add(struct hl_store *st, const char *name, unsigned role,
                                  unsigned language, const char *pwhash);
/* One operator by name: HL_ERR_NOTFOUND. */
HL_MUST_CHECK int hl_operator_get(struct hl_store *st, const char *name, struct hl_operator *out);
/* Every operator by name; *out malloc'd (free it), NULL when *n is 0. */
HL_MUST_CHECK int hl_operator_list(struct hl_store *st, struct hl_operator **out, size_t *n);
/* HL_ERR_NOTFOUND. */
HL_MUST_CHECK int hl_operator_remove(struct hl_store *st, const char *name);
/* A new password hash; the generation goes up, which ends the operator's sessions. */
HL_MUST_CHECK int hl_operator_set_password(struct hl_store *st, const char *name,
                                           const char *pwhash);
/* The operator's language (enum hl_lang). */
HL_MUST_CHECK int hl_operator_set_language(struct hl_store *st, const char *name,
                                           unsigned language);

#endif
