/* SPDX-License-Identifier: Apache-2.0 */
/* An endless loop (no calls, no memory traffic): only Timeout stops it. */
#include "wt.h"

int main(void)
{
    say("TRY spin\n");
    volatile unsigned long n = 0;
    for (;;)
        n++;
}
