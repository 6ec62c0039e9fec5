/* SPDX-License-Identifier: ISC */
/* test_store.c: the SQLite store behind store.h (src/store.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include <sodium.h>

#include "store.h"
#include "t.h"
#include "t_sqlite.h"

static char dir[] = "/tmp/hl-test-store-XXXXXX";
static char err[512];

static void
path_of(char *out, size_t cap, const char *file)
{
	if (hl_path(out, cap, dir, file) < 0) {
		printf("Bail out! path too long\n");
		exit(1);
	}
}

static void
make_peer(struct hl_peer_rec *p, const char *name, size_t nlinks)
{
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	randombytes_buf(&p->key, sizeof p->key);
	p->nlinks = nlinks;
	for (size_t i = 0; i < nlinks; i++)
		snprintf(p->links[i], HL_ADDR_MAX, "%s-%zu.example:%zu", name, i, 7400 + i);
	p->added_ns = UINT64_C(1700000000000000000) + nlinks;
}

static bool
peer_eq(const struct hl_peer_rec *a, const struct hl_peer_rec *b)
{
	if (strcmp(a->name, b->name) != 0 || memcmp(&a->key, &b->key, sizeof a->key) != 0 ||
	    a->nlinks != b->nlinks || a->added_ns != b->added_ns)
		return false;
	for (size_t i = 0; i < a->nlinks; i++)
		if (strcmp(a->links[i], b->links[i]) != 0)
			return false;
	return true;
}

static int
set_user_version(const char *path, int v)
{
	sqlite3 *db = NULL;
	char sql[64];
	int rc;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	sqlite3_close(db);
	return rc;
}

static void
test_open(void)
{
	struct hl_store *st = (struct hl_store *)&st;
	char path[512];
	int rc;

	path_of(path, sizeof path, "none.db");
	rc = hl_store_open(path, false, &st, err, sizeof err);
	T_OK(rc < 0 && st == NULL, "open without create on a missing file fails");
	T_OK(err[0] != '\0', "and says why (\"%s\")", err);
	T_OK(access(path, F_OK) != 0, "and creates nothing");

	path_of(path, sizeof path, "store.db");
	rc = hl_store_open(path, true, &st, err, sizeof err);
	T_OK(rc == HL_OK && st != NULL, "create (err \"%s\")", err);
	hl_store_close(st);
	T_EQ_INT(t_user_version(path), HL_STORE_SCHEMA, "new store has the current schema");
	rc = hl_store_open(path, false, &st, err, sizeof err);
	T_OK(rc == HL_OK && st != NULL, "reopen without create (err \"%s\")", err);
	hl_store_close(st);
	hl_store_close(NULL);
	T_OK(1, "close(NULL) is harmless");
}

static void
test_peers(void)
{
	struct hl_store *st = NULL;
	struct hl_peer_rec a, b, c, dup, *list = NULL;
	char path[512];
	size_t n = 99;
	int rc;

	path_of(path, sizeof path, "store.db");
	rc = hl_store_open(path, false, &st, err, sizeof err);
	T_OK(rc == HL_OK, "peers: open (err \"%s\")", err);
	if (rc < 0)
		return;

	rc = hl_store_peer_list(st, &list, &n);
	T_OK(rc == HL_OK && n == 0 && list == NULL, "empty store lists no peers");

	make_peer(&b, "bravo", 2);
	make_peer(&a, "alpha", 0);
	make_peer(&c, "charlie", HL_LINKS_MAX);
	T_EQ_INT(hl_store_peer_add(st, &b), HL_OK, "add bravo (2 links)");
	T_EQ_INT(hl_store_peer_add(st, &a), HL_OK, "add alpha (no links)");
	T_EQ_INT(hl_store_peer_add(st, &c), HL_OK, "add charlie (HL_LINKS_MAX links)");

	rc = hl_store_peer_list(st, &list, &n);
	T_OK(rc == HL_OK && n == 3, "list three peers");
	if (rc == HL_OK && n == 3) {
		T_OK(peer_eq(&list[0], &a), "alpha first, intact");
		T_OK(peer_eq(&list[1], &b), "bravo second, intact, links in order");
		T_OK(peer_eq(&list[2], &c), "charlie third, all links in order");
		T_OK(list[0].id != list[1].id && list[1].id != list[2].id, "ids differ");
	}
	free(list);
	list = NULL;

	dup = a;
	randombytes_buf(&dup.key, sizeof dup.key);
	T_EQ_INT(hl_store_peer_add(st, &dup), HL_ERR_EXISTS, "duplicate name refused");
	make_peer(&dup, "delta", 1);
	memcpy(dup.key.x25519, b.key.x25519, 32);
	T_EQ_INT(hl_store_peer_add(st, &dup), HL_ERR_EXISTS, "duplicate x25519 key refused");
	make_peer(&dup, "delta", 1);
	memcpy(dup.key.ed25519, c.key.ed25519, 32);
	T_EQ_INT(hl_store_peer_add(st, &dup), HL_ERR_EXISTS, "duplicate ed25519 key refused");
	make_peer(&dup, "delta", 2);
	snprintf(dup.links[1], HL_ADDR_MAX, "%s", dup.links[0]);
	rc = hl_store_peer_add(st, &dup);
	T_EQ_INT(rc, HL_OK, "the same address twice is allowed");
	rc = hl_store_peer_list(st, &list, &n);
	T_OK(rc == HL_OK && n == 4, "refused adds left nothing behind, delta added");
	free(list);
	list = NULL;

	T_EQ_INT(hl_store_peer_remove(st, "nobody"), HL_ERR_NOTFOUND, "remove unknown peer");
	T_EQ_INT(hl_store_peer_remove(st, "bravo"), HL_OK, "remove bravo");
	T_EQ_INT(hl_store_peer_remove(st, "bravo"), HL_ERR_NOTFOUND, "remove bravo again");
	T_EQ_INT(hl_store_peer_remove(st, "delta"), HL_OK, "remove delta");
	rc = hl_store_peer_list(st, &list, &n);
	T_OK(rc == HL_OK && n == 2, "two peers left");
	if (rc == HL_OK && n == 2)
		T_OK(peer_eq(&list[0], &a) && peer_eq(&list[1], &c), "alpha and charlie intact");
	free(list);
	list = NULL;

	/* bravo's name and key are free again; its links went with it. */
	T_EQ_INT(hl_store_peer_add(st, &b), HL_OK, "re-add bravo after removal");
	hl_store_close(st);

	rc = hl_store_open(path, false, &st, err, sizeof err);
	T_OK(rc == HL_OK, "reopen (err \"%s\")", err);
	if (rc < 0)
		return;
	rc = hl_store_peer_list(st, &list, &n);
	T_OK(rc == HL_OK && n == 3, "peers survive a reopen");
	if (rc == HL_OK && n == 3)
		T_OK(peer_eq(&list[0], &a) && peer_eq(&list[1], &b) && peer_eq(&list[2], &c),
		     "reopened peers intact");
	free(list);
	hl_store_close(st);

	{
		sqlite3 *db = NULL;
		sqlite3_stmt *q = NULL;
		int links = -1;
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
		    sqlite3_prepare_v2(db, "SELECT count(*) FROM peer_links", -1, &q, NULL) ==
		        SQLITE_OK &&
		    sqlite3_step(q) == SQLITE_ROW)
			links = sqlite3_column_int(q, 0);
		sqlite3_finalize(q);
		sqlite3_close(db);
		T_EQ_INT(links, 2 + HL_LINKS_MAX, "removed peers' links are gone (cascade)");
	}
}

static void
test_newer(void)
{
	struct hl_store *st = NULL;
	char path[512];
	int rc;

	path_of(path, sizeof path, "store.db");
	T_EQ_INT(set_user_version(path, HL_STORE_SCHEMA + 1), 0, "set user_version to schema + 1");
	err[0] = '\0';
	rc = hl_store_open(path, false, &st, err, sizeof err);
	T_OK(rc < 0 && st == NULL, "a newer store is refused");
	T_OK(strstr(err, "newer") != NULL, "the message mentions \"newer\" (\"%s\")", err);
	T_EQ_INT(t_user_version(path), HL_STORE_SCHEMA + 1, "the refusal left the store alone");

	T_EQ_INT(set_user_version(path, HL_STORE_SCHEMA), 0, "set user_version back");
	rc = hl_store_open(path, false, &st, err, sizeof err);
	T_OK(rc == HL_OK, "opens again (err \"%s\")", err);
	hl_store_close(st);
}

static void
cleanup(void)
{
	static const char *const files[] = {"store.db", "store.db-wal", "store.db-shm",
	                                    "store.db-journal", "none.db"};
	char path[512];

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		path_of(path, sizeof path, files[i]);
		unlink(path);
	}
	if (rmdir(dir) != 0)
		printf("# could not remove %s\n", dir);
}

int
main(void)
{
	if (sodium_init() < 0) {
		printf("Bail out! sodium_init failed\n");
		return 1;
	}
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	test_open();
	test_peers();
	test_newer();
	cleanup();
	return t_done();
}
