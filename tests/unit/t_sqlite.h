/* SPDX-License-Identifier: ISC */
/* t_sqlite.h: reading a store file from under the store module, for schema tests. */
#ifndef HL_T_SQLITE_H
#define HL_T_SQLITE_H

#include <sqlite3.h>

/* PRAGMA user_version of the database at path, or -1. */
static inline int
t_user_version(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

#endif
