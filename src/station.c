/* SPDX-License-Identifier: ISC */
/*
 * station.c: the daemon's wiring (the only file that knows every module):
 * lock the directory, load config, keys and peers, start the network and
 * the control socket, run the loop, and stop cleanly on a signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "ctl.h"
#include "keys.h"
#include "link.h"
#include "log.h"
#include "station.h"
#include "store.h"

int
hl_station_path(const char *dir, enum hl_station_file f, char out[static HL_PATH_MAX])
{
	static const char *names[] = {"config", "identity.key", "station.db", "lock", "ctl.sock"};

	return hl_path(out, HL_PATH_MAX, dir, names[f]);
}

struct daemon {
	const char *dir;
	struct hl_config cfg;
	struct hl_identity id;
	struct hl_store *store;
	uv_loop_t loop;
	struct hl_net *net;
	struct hl_ctl *ctl;
	uv_signal_t sigint, sigterm, sighup;
	bool stopping;
};

static int
reload_peers(struct daemon *d)
{
	struct hl_peer_rec *peers;
	size_t n;
	int rc = hl_store_peer_list(d->store, &peers, &n);

	if (rc < 0)
		return rc;
	rc = hl_net_set_peers(d->net, peers, n);
	free(peers);
	if (rc == HL_OK)
		log_info("peers_loaded", "count=%zu", n);
	return rc;
}

static json_t *
on_ctl(void *ctx, const char *cmd, json_t *req)
{
	struct daemon *d = ctx;

	(void)req;
	if (strcmp(cmd, "status") == 0)
		return json_pack("{s:b, s:s, s:b, s:i, s:s, s:o}", "ok", 1, "station", d->cfg.name,
		                 "running", 1, "pid", (int)getpid(), "listen", d->cfg.listen,
		                 "peers", hl_net_status(d->net));
	if (strcmp(cmd, "poke") == 0) {
		hl_net_poke(d->net);
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(cmd, "reload") == 0) {
		int rc = reload_peers(d);
		if (rc < 0)
			return json_pack("{s:b, s:s}", "ok", 0, "error", hl_strerror(rc));
		return json_pack("{s:b}", "ok", 1);
	}
	log_warn("ctl_refused", "reason=unknown_command");
	return json_pack("{s:b, s:s}", "ok", 0, "error", "unknown command");
}

static void
stop(struct daemon *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = true;
	log_info("stopping", "reason=%s", why);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
	if (d->ctl)
		hl_ctl_stop(d->ctl);
	if (d->net)
		hl_net_stop(d->net);
	d->ctl = NULL;
	d->net = NULL;
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (signum == SIGHUP) {
		if (reload_peers(d) < 0)
			log_warn("reload_failed", "%s", "");
		return;
	}
	stop(d, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/* Take the directory's lock, or say which process holds it. */
static int
lock_dir(const char *dir, int *fd_out, char *err, size_t errcap)
{
	char path[HL_PATH_MAX], pid[32] = "";
	int fd;

	*fd_out = -1;
	if (hl_station_path(dir, HL_F_LOCK, path) < 0)
		return HL_ERR_LIMIT;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errcap, "cannot open %s: %s", path, strerror(errno));
		return HL_ERR_IO;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ssize_t n = read(fd, pid, sizeof pid - 1);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errcap,
		         "another hotline daemon (pid %s) is already running on %s: stop it first",
		         pid[0] ? pid : "?", dir);
		close(fd);
		return HL_ERR_EXISTS;
	}
	snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	if (ftruncate(fd, 0) != 0 || write(fd, pid, strlen(pid)) < 0) {
		snprintf(err, errcap, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		return HL_ERR_IO;
	}
	*fd_out = fd;
	return HL_OK;
}

int
hl_station_run(const char *dir, char *err, size_t errcap)
{
	struct daemon d = {.dir = dir};
	struct hl_peer_rec *peers = NULL;
	char path[HL_PATH_MAX];
	size_t npeers = 0;
	int lockfd = -1, rc;

	signal(SIGPIPE, SIG_IGN);
	rc = hl_config_load(&d.cfg, dir, err, errcap);
	if (rc < 0)
		return rc;
	log_set_prefix(d.cfg.name);
	rc = lock_dir(dir, &lockfd, err, errcap);
	if (rc < 0)
		return rc;
	if ((rc = hl_station_path(dir, HL_F_IDENTITY, path)) < 0 ||
	    (rc = hl_identity_load(&d.id, path)) < 0) {
		if (rc == HL_ERR_AUTH)
			snprintf(err, errcap, "%s is readable by group or others: chmod 600 it",
			         path);
		else
			snprintf(err, errcap, "cannot load %s: %s", path, hl_strerror(rc));
		goto out_lock;
	}
	if ((rc = hl_station_path(dir, HL_F_STORE, path)) < 0 ||
	    (rc = hl_store_open(path, false, &d.store, err, errcap)) < 0)
		goto out_id;
	if ((rc = hl_store_peer_list(d.store, &peers, &npeers)) < 0) {
		snprintf(err, errcap, "cannot read the peers from the store: %s", hl_strerror(rc));
		goto out_store;
	}
	uv_loop_init(&d.loop);
	rc = hl_net_start(&d.loop, &d.cfg, &d.id, path, peers, npeers, &d.net, err, errcap);
	free(peers);
	if (rc < 0)
		goto out_loop;
	if ((rc = hl_station_path(dir, HL_F_CTL, path)) < 0 ||
	    (rc = hl_ctl_start(&d.loop, path, on_ctl, &d, &d.ctl, err, errcap)) < 0) {
		if (rc == HL_ERR_LIMIT && !err[0])
			snprintf(err, errcap, "station directory path too long");
		hl_net_stop(d.net);
		d.net = NULL;
		goto out_loop;
	}
	uv_signal_init(&d.loop, &d.sigint);
	uv_signal_init(&d.loop, &d.sigterm);
	uv_signal_init(&d.loop, &d.sighup);
	d.sigint.data = d.sigterm.data = d.sighup.data = &d;
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sighup, on_signal, SIGHUP);
	{
		char pk[HL_PUBSTR_MAX];
		hl_pubkey_encode(&d.id.pub, pk);
		log_info("started", "pid=%d key=%s", (int)getpid(), pk);
	}
	uv_run(&d.loop, UV_RUN_DEFAULT);
	log_info("stopped", "%s", "");
	rc = HL_OK;
out_loop:
	uv_run(&d.loop, UV_RUN_DEFAULT); /* let closing handles finish */
	if (uv_loop_close(&d.loop) != 0)
		log_warn("loop_not_empty", "%s", "");
	if (rc == HL_OK) {
		hl_station_path(dir, HL_F_CTL, path) == HL_OK ? (void)unlink(path) : (void)0;
	}
out_store:
	hl_store_close(d.store);
out_id:
	hl_identity_free(&d.id);
out_lock:
	close(lockfd);
	return rc;
}
