/* One-line error messages for the subcommands (the data on stdout stays clean). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "agent.h"

void agent_errorf(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "keyway-agent: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}
