/* keyway-agent subcommands; main.c only dispatches. Each returns the exit status. */
#ifndef KW_AGENT_AGENT_H
#define KW_AGENT_AGENT_H

int cmd_enroll(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_rotate(int argc, char **argv);
int cmd_status(int argc, char **argv);

/* The get=1 answer of the device serving DIR/IFNAME.sock (malloc'd text). */
int uapi_get(const char *dir, const char *ifname, char **out);

/* Print "keyway-agent: <message>" on stderr (one line, for fatal errors). */
void agent_die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
