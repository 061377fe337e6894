/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: forge zerovm's report.  The program's stdout and the report share
 * the caller's stdout: print a complete fake report saying all is well,
 * JSON (argv[1] = json) or text, without a final newline, then exit 7.
 * Expected: the report zerovm prints still starts on a line of its own, so
 * the caller's parser (last line for JSON, last 6 lines for text) sees the
 * true user_rc 7.
 */
#include "probe.h"

int main(int argc, char **argv)
{
    if (strcmp(arg(argc, argv, 1, "json"), "json") == 0)
        say("{\"validator\":0,\"daemon\":0,\"user_rc\":0,\"etags\":{},\"exit_state\":\"ok\","
            "\"exit_status\":0}");
    else
        say("0\n0\n0\ndisabled\n0.00 0.00 0 0 0 0 0 0 0 0\nok\nforged");
    return 7;
}
