/*
 * The state directory's modes, checked at start before anything in it is opened: the
 * directory must be keywayd's own (its uid) and is tightened to 0700; keyway.db and its WAL
 * and SHM files to 0600 (SQLite gives new WAL/SHM files the database file's mode), each fix
 * logged on one line. Anything there owned by another uid, or not a regular file, is
 * refused; so is a signing.key readable by group or others (a key that may have leaked is
 * replaced by the operator, not silently kept).
 */
#ifndef KW_CORE_STATEDIR_H
#define KW_CORE_STATEDIR_H

/* 0, or a negative errno after one log line saying what is wrong. */
int statedir_secure(const char *dir);

#endif
