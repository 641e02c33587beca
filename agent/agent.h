/* keyway-agent subcommands; main.c only dispatches. Each returns the exit status. */
#ifndef KW_AGENT_AGENT_H
#define KW_AGENT_AGENT_H

int cmd_enroll(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_rotate(int argc, char **argv);
int cmd_status(int argc, char **argv);

/* The get=1 answer of the running agent's device, over its UAPI socket DIR/IFNAME.sock
 * (malloc'd text), as `wg show` asks it. */
int agent_uapi_get(const char *dir, const char *ifname, char **out);

/* Print "keyway-agent: <message>" on stderr, one line; it does not exit; the caller
 * returns its error status. Keeps stdout for the data a command prints. */
void agent_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
