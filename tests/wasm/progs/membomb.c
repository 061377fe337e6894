/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory, bounded by the manifest's Memory:
 *   malloc   malloc 1 MiB blocks (touching every page) until NULL, then
 *            "INFO allocated <bytes>", "INFO walked <bytes>" (the same,
 *            read back) and "INFO pages <memory.size>"; rc 3
 *   grow     memory.grow past Memory: "GROW huge -1"; then 1 page:
 *            "GROW one <old size in pages>"; rc 3
 */
#include "wt.h"

int main(int argc, char **argv)
{
    if (argc < 2)
        return 99;
    if (strcmp(argv[1], "malloc") == 0) {
        /* The blocks are chained and walked afterwards, so the compiler
         * cannot drop the allocations (and with them the loop's end). */
        unsigned long long total = 0;
        void **head = NULL;
        for (;;) {
            void **p = malloc(1 << 20);
            if (!p)
                break;
            for (int i = 1; i < (1 << 20) / (int)sizeof(void *); i += 4096 / (int)sizeof(void *))
                p[i] = p;
            p[0] = head;
            head = p;
            total += 1 << 20;
        }
        unsigned long long walked = 0;
        for (void **p = head; p; p = *p)
            walked += (p[1] == p) << 20;
        say("INFO allocated %llu\n", total);
        say("INFO walked %llu\n", walked);
        say("INFO pages %lu\n", (unsigned long)__builtin_wasm_memory_size(0));
    } else if (strcmp(argv[1], "grow") == 0) {
        unsigned long before = (unsigned long)__builtin_wasm_memory_size(0);
        long huge = (long)__builtin_wasm_memory_grow(0, 65535 - before);
        say("GROW huge %ld\n", huge);
        long one = (long)__builtin_wasm_memory_grow(0, 1);
        say("GROW one %ld before %lu\n", one, before);
        say("INFO pages %lu\n", (unsigned long)__builtin_wasm_memory_size(0));
    } else {
        return 98;
    }
    done();
    return 3;
}
