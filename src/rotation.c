/* SPDX-License-Identifier: ISC */
/* rotation.c: this station's key rotation, the daemon's side; see rotation.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "log.h"
#include "rotation.h"
#include "station.h"

static bool
same_pub(const struct hl_pubkey *k, const uint8_t x[static 32], const uint8_t ed[static 32])
{
	return sodium_memcmp(k->x25519, x, 32) == 0 && sodium_memcmp(k->ed25519, ed, 32) == 0;
}

void
hl_rotator_load(struct hl_rotator *r, const char *dir, const char *pass, size_t passlen)
{
	char path[HL_PATH_MAX];
	int rc;

	memset(r, 0, sizeof *r);
	if (hl_station_path(dir, HL_F_IDENTITY_NEXT, path) < 0 || access(path, F_OK) != 0)
		return;
	rc = hl_identity_open(&r->next, path, pass, passlen);
	/* One passphrase for both files: a clear identity.key with a protected next, say, fails. */
	if (rc == HL_OK) {
		r->have_next = true;
		return;
	}
	snprintf(r->stuck, sizeof r->stuck, "identity.key.next cannot be opened: %s",
	         rc == HL_ERR_KEY_BADPASS  ? "its passphrase is not identity.key's"
	         : rc == HL_ERR_KEY_LOCKED ? "it is protected by a passphrase, identity.key is not"
	         : rc == HL_ERR_KEY_PERMS  ? "it is readable by group or others"
	                                   : hl_strerror(rc));
}

void
hl_rotator_reconcile(struct hl_rotator *r, const struct hl_identity *id, struct hl_store *st)
{
	bool found = false;
	int rc;

	if ((rc = hl_store_rotation_pending(st, &r->rot, &found)) < 0) {
		log_error("key_rotation_unreadable", "err=\"%s\"", hl_strerror(rc));
		return;
	}
	if (!found) {
		if (r->have_next)
			log_warn("key_next_ignored",
			         "reason=\"identity.key.next belongs to no rotation under way (an "
			         "interrupted 'key rotate'): the next one replaces it\"");
		hl_identity_free(&r->next);
		r->have_next = false;
		r->stuck[0] = '\0';
		return;
	}
	if (same_pub(&id->pub, r->rot.r.new_x25519, r->rot.r.new_ed25519)) {
		/* The switch reached the files, then the station stopped: finish it. */
		rc = hl_store_rotation_switched(st, r->rot.id, hl_wall_ns());
		log_info("key_switch_completed", "rotation=%lld recorded=%d", (long long)r->rot.id,
		         rc == HL_OK);
		hl_identity_free(&r->next);
		r->have_next = false;
		r->stuck[0] = '\0';
		return;
	}
	r->pending = true;
	if (!same_pub(&id->pub, r->rot.r.old_x25519, r->rot.r.old_ed25519))
		snprintf(r->stuck, sizeof r->stuck,
		         "identity.key is neither the rotation's old key nor its new one: it was "
		         "replaced by hand");
	else if (r->have_next && !same_pub(&r->next.pub, r->rot.r.new_x25519, r->rot.r.new_ed25519))
		snprintf(r->stuck, sizeof r->stuck,
		         "identity.key.next does not hold the announced key");
	else if (!r->have_next && !r->stuck[0])
		snprintf(r->stuck, sizeof r->stuck, "identity.key.next is missing");
	if (r->stuck[0]) {
		hl_identity_free(&r->next);
		r->have_next = false;
		log_error("key_rotation_stuck", "reason=\"%s\"", r->stuck);
	}
}

void
hl_rotator_adopt(struct hl_rotator *r, struct hl_identity *next, const struct hl_rotation_rec *rot)
{
	hl_identity_free(&r->next);
	r->next = *next;
	memset(next, 0, sizeof *next);
	r->have_next = true;
	r->rot = *rot;
	r->pending = true;
	r->stuck[0] = '\0';
	r->next_try_ms = 0;
}

/* Rename src over dst and make the rename durable (fsync of the directory). */
static int
rename_durably(const char *dir, const char *src, const char *dst)
{
	int fd, rc = HL_OK;

	if (rename(src, dst) != 0)
		return HL_ERR_IO;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = HL_ERR_IO;
	if (fd >= 0)
		close(fd);
	return rc;
}

void
hl_rotator_tick(struct hl_rotator *r, const char *dir, struct hl_identity *id, struct hl_store *st,
                int64_t *switched_id)
{
	char from[HL_PATH_MAX], to[HL_PATH_MAX], old[HL_PUBSTR_MAX], neu[HL_PUBSTR_MAX];
	struct hl_identity gone;
	size_t waiting = 0;
	uint64_t now = hl_now_ms();

	*switched_id = 0;
	if (!r->pending || !r->have_next || now < r->next_try_ms)
		return;
	if (hl_store_rotation_peers(st, &r->rot, NULL, NULL, &waiting) < 0 || waiting)
		return;
	/* Everyone has the new key on disk: step 1, the files. */
	if (hl_station_path(dir, HL_F_IDENTITY_NEXT, from) < 0 ||
	    hl_station_path(dir, HL_F_IDENTITY, to) < 0 || rename_durably(dir, from, to) < 0) {
		log_error("key_switch_failed", "err=\"%s\" retry_s=60", strerror(errno));
		r->next_try_ms = now + 60000;
		return;
	}
	/* Step 2, memory: the old secrets are wiped as they go. */
	hl_pubkey_encode(&id->pub, old);
	hl_pubkey_encode(&r->next.pub, neu);
	gone = *id;
	*id = r->next;
	memset(&r->next, 0, sizeof r->next);
	hl_identity_free(&gone);
	r->have_next = false;
	r->pending = false;
	*switched_id = r->rot.id;
	log_info("key_switched", "rotation=%lld old=%s new=%s", (long long)r->rot.id, old, neu);
}

void
hl_rotator_status(const struct hl_rotator *r, json_t *status)
{
	json_t *rot = json_object_get(json_object_get(status, "keys"), "rotation");

	if (json_is_object(rot) && r->pending)
		json_object_set_new(rot, "problem",
		                    r->stuck[0] ? json_string(r->stuck) : json_null());
}

void
hl_rotator_free(struct hl_rotator *r)
{
	hl_identity_free(&r->next);
	r->have_next = false;
}
