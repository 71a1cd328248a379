/* SPDX-License-Identifier: GPL-2.0-or-later */
/* held.h — files deleted but still held open, which free-space zeroing
 * cannot reach.
 *
 * A file a running process keeps open (journald's journal, a database's
 * WAL) is unlinked by the removal step, but its blocks stay allocated until
 * the last fd closes: the fill never gets them, and they are freed,
 * unwiped, when the process ends.  A live reset cannot wipe them (the
 * reset carried out at boot, before any service runs, can); what it can do
 * is say so: every such file on the filesystem is found through
 * /proc/PID/fd and named, with its process, in the log and the report.
 * Nothing is killed. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct rk_held_file {
        pid_t pid;
        int fd;
        char comm[17];          /* /proc/PID/comm */
        char *path;             /* as the holder sees it, " (deleted)" removed */
        uint64_t size;          /* bytes the file still holds */
};

struct rk_held_list {
        struct rk_held_file *files;
        size_t n;
        size_t unreadable;      /* processes whose fds could not be read (EACCES) */
};

/* Regular files on the filesystem `dev` (st_dev of the mount) with no name
 * left (st_nlink 0) that some process other than this one holds open,
 * found in proc_fd (an O_DIRECTORY fd of /proc).  Processes that exit
 * meanwhile are skipped.  0 or a negative errno. */
int rk_held_scan(int proc_fd, dev_t dev, struct rk_held_list *ret);
void rk_held_list_done(struct rk_held_list *l);
