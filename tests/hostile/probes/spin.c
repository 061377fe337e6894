/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: never finish.  Spin in a loop with every signal ignored, in the
 * main process and in a forked child.
 * Expected: exit state "timeout" and zerovm returns about Timeout seconds
 * after the start (the runner allows Timeout + 10 s); nothing left behind.
 */
#include <signal.h>

#include "probe.h"

int main(void)
{
    for (int s = 1; s < 65; s++)
        signal(s, SIG_IGN);
    if (fork() == 0)
        for (volatile unsigned long i = 0;; i++)
            ;
    say("INFO spinning\n");
    for (volatile unsigned long i = 0;; i++)
        ;
}
