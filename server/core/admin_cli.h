/* `keywayd [-c FILE] admin-token create --name NAME`: works on the same state directory. */
#ifndef KW_ADMIN_CLI_H
#define KW_ADMIN_CLI_H

#include "conf.h"

/* argv starts at "admin-token". Returns the process exit code. */
int admin_cli_main(const struct kw_conf *conf, int argc, char **argv);

#endif
