/* SPDX-License-Identifier: ISC */
/* operators.c: operator accounts in the store, and their password hashes; see operators.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "codebook.h"
#include "log.h"
#include "operators.h"

#include "store_impl.h"

static const char *const role_names[] = {"watch", "duty", "admin"};
static const char *const cost_names[] = {"interactive", "moderate", "minimum"};

const char *
hl_role_name(unsigned role)
{
	return role < ARRAY_SIZE(role_names) ? role_names[role] : "?";
}

int
hl_role_parse(const char *s, unsigned *role)
{
	for (unsigned i = 0; i < ARRAY_SIZE(role_names); i++)
		if (strcmp(s, role_names[i]) == 0) {
			*role = i;
			return HL_OK;
		}
	return HL_ERR_INVAL;
}

const char *
hl_pwcost_name(unsigned cost)
{
	return cost < ARRAY_SIZE(cost_names) ? cost_names[cost] : "?";
}

int
hl_pwcost_parse(const char *s, unsigned *cost)
{
	for (unsigned i = 0; i < ARRAY_SIZE(cost_names); i++)
		if (strcmp(s, cost_names[i]) == 0) {
			*cost = i;
			return HL_OK;
		}
	return HL_ERR_INVAL;
}

bool
hl_operator_name_valid(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= HL_OPERATOR_MAX && hl_field_valid(name, n) && name[0] != ' ' &&
	       name[n - 1] != ' ';
}

int
hl_operator_hash(const char *pw, size_t len, unsigned cost, char out[static HL_PWHASH_MAX])
{
	unsigned long long ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
	size_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;

	if (cost == HL_PWCOST_MODERATE) {
		ops = crypto_pwhash_OPSLIMIT_MODERATE;
		mem = crypto_pwhash_MEMLIMIT_MODERATE;
	} else if (cost == HL_PWCOST_MINIMUM) {
		ops = crypto_pwhash_argon2id_OPSLIMIT_MIN;
		mem = 8u << 20;
	}
	if (crypto_pwhash_str_alg(out, pw, len, ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return HL_ERR_NOMEM; /* libsodium fails only when it cannot get the memory */
	return HL_OK;
}

int
hl_operator_verify(const char *pwhash, const char *pw, size_t len)
{
	/* A stored hash is checked for its terminator: verify reads it as a C string. */
	if (strnlen(pwhash, HL_PWHASH_MAX) == HL_PWHASH_MAX)
		return HL_ERR_AUTH;
	return crypto_pwhash_str_verify(pwhash, pw, len) == 0 ? HL_OK : HL_ERR_AUTH;
}

static void
col_text(sqlite3_stmt *q, int col, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(q, col);

	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static int
read_op(sqlite3_stmt *q, struct hl_operator *o)
{
	char role[16], lang[8];

	memset(o, 0, sizeof *o);
	col_text(q, 0, o->name, sizeof o->name);
	col_text(q, 1, role, sizeof role);
	col_text(q, 2, lang, sizeof lang);
	col_text(q, 3, o->pwhash, sizeof o->pwhash);
	o->generation = (uint64_t)sqlite3_column_int64(q, 4);
	o->created_ns = (uint64_t)sqlite3_column_int64(q, 5);
	o->changed_ns = (uint64_t)sqlite3_column_int64(q, 6);
	if (hl_role_parse(role, &o->role) < 0 || hl_lang_parse(lang, &o->language) < 0)
		return HL_ERR_CORRUPT;
	return HL_OK;
}

#define OP_COLUMNS "name, role, language, pwhash, generation, created_ns, changed_ns"

int
hl_operator_add(struct hl_store *st, const char *name, unsigned role, unsigned language,
                const char *pwhash)
{
	sqlite3_stmt *q;
	uint64_t now = hl_wall_ns();
	int rc;

	if (!hl_operator_name_valid(name) || role > HL_ROLE_ADMIN || language >= HL_LANG_COUNT ||
	    !*pwhash)
		return HL_ERR_INVAL;
	if (sqlite3_prepare_v2(
	        st->db, "INSERT INTO operators (" OP_COLUMNS ") VALUES (?, ?, ?, ?, 1, ?, ?)", -1,
	        &q, NULL) != SQLITE_OK)
		return HL_ERR_IO;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, hl_role_name(role), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, hl_lang_name(language), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, pwhash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)now);
	sqlite3_bind_int64(q, 6, (sqlite3_int64)now);
	rc = hl_store_step_done(st, q);
	sqlite3_finalize(q);
	return rc;
}

int
hl_operator_get(struct hl_store *st, const char *name, struct hl_operator *out)
{
	sqlite3_stmt *q;
	int rc, s;

	memset(out, 0, sizeof *out);
	if (sqlite3_prepare_v2(st->db, "SELECT " OP_COLUMNS " FROM operators WHERE name = ?", -1,
	                       &q, NULL) != SQLITE_OK)
		return HL_ERR_IO;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	s = sqlite3_step(q);
	rc = s == SQLITE_ROW ? read_op(q, out) : s == SQLITE_DONE ? HL_ERR_NOTFOUND : HL_ERR_IO;
	sqlite3_finalize(q);
	if (rc < 0)
		sodium_memzero(out->pwhash, sizeof out->pwhash);
	return rc;
}

int
hl_operator_list(struct hl_store *st, struct hl_operator **out, size_t *n)
{
	struct hl_operator *v = NULL;
	sqlite3_stmt *q;
	size_t cnt = 0;
	int rc = HL_OK, s;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT " OP_COLUMNS " FROM operators ORDER BY name", -1, &q,
	                       NULL) != SQLITE_OK)
		return HL_ERR_IO;
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		struct hl_operator *nv = realloc(v, (cnt + 1) * sizeof *v);
		if (!nv) {
			rc = HL_ERR_NOMEM;
			break;
		}
		v = nv;
		if ((rc = read_op(q, &v[cnt])) < 0)
			break;
		cnt++;
	}
	if (rc == HL_OK && s != SQLITE_DONE)
		rc = HL_ERR_IO;
	sqlite3_finalize(q);
	if (rc < 0) {
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return HL_OK;
}

/* One UPDATE or DELETE of the operator called name: HL_ERR_NOTFOUND when there is none. */
static int
change(struct hl_store *st, const char *sql, const char *name, const char *text, int64_t now)
{
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
		return HL_ERR_IO;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	if (text)
		sqlite3_bind_text(q, 2, text, -1, SQLITE_STATIC);
	if (now)
		sqlite3_bind_int64(q, 3, now);
	rc = hl_store_step_done(st, q);
	if (rc == HL_OK && sqlite3_changes(st->db) == 0)
		rc = HL_ERR_NOTFOUND;
	sqlite3_finalize(q);
	return rc;
}

int
hl_operator_remove(struct hl_store *st, const char *name)
{
	return change(st, "DELETE FROM operators WHERE name = ?1", name, NULL, 0);
}

int
hl_operator_set_password(struct hl_store *st, const char *name, const char *pwhash)
{
	if (!*pwhash)
		return HL_ERR_INVAL;
	return change(st,
	              "UPDATE operators SET pwhash = ?2, generation = generation + 1,"
	              " changed_ns = ?3 WHERE name = ?1",
	              name, pwhash, (int64_t)hl_wall_ns());
}

int
hl_operator_set_language(struct hl_store *st, const char *name, unsigned language)
{
	if (language >= HL_LANG_COUNT)
		return HL_ERR_INVAL;
	return change(st, "UPDATE operators SET language = ?2, changed_ns = ?3 WHERE name = ?1",
	              name, hl_lang_name(language), (int64_t)hl_wall_ns());
}
