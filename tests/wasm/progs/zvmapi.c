/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "zerovm" import module (the original trap API): handle = the
 * channel's index in manifest order.
 *   list       "COUNT n", then "CHAN i <name> <r>" for each channel and
 *              "INFO i type <t> name_len <l> size <s> limits <gets> <get_size>
 *              <puts> <put_size> r <r>" (channel_info); channel_name and
 *              channel_info of index n fail: "BADINDEX name <r> info <r>";
 *              "CUT <r> <bytes>" for channel_name of channel 0 into 4 bytes
 *   io IN OUT  pread 5 bytes at offset 3 of handle IN ("PREAD <r> <bytes>"),
 *              pread 4 at 0 ("PREAD <r> <bytes>"), at offset -1 (-INVAL)
 *              and at the end (0), pwrite "zvm-api\n" to handle OUT
 *              ("PWRITE <r>"), pwrite to the read-only IN (-DQUOT), then
 *              exit(23) from the zerovm module ("AFTER" must never appear)
 *   bad IN OUT pread with buf near the end of memory and a big size, with
 *              size 4 GiB - 1, at a buf past the end; pwrite likewise; a
 *              handle past the last; channel_name/info at bad pointers: each
 *              "ERR <what> <r>" (r < 0) or "ACCEPTED <what> <r>", then
 *              pwrite "still-fine\n" to OUT; rc 0
 *   quota OUT  pwrite 6 bytes twice to OUT (put_size 10): the second is
 *              refused with -EDQUOT: "PWRITE1 6" "PWRITE2 <r>"
 */
#include <stdint.h>

#include "wt.h"

#include <zvm/wasm_api.h>

/* Raw forms of the same imports (plain integers for the pointer games). */
#define ZI(n) __attribute__((import_module("zerovm"), import_name(n)))
ZI("pread") extern int32_t zvm_raw_pread(uint32_t h, uint32_t buf, uint32_t size, uint64_t off);
ZI("pwrite") extern int32_t zvm_raw_pwrite(uint32_t h, uint32_t buf, uint32_t size, uint64_t off);
ZI("exit") extern _Noreturn void zvm_raw_exit(uint32_t code);
ZI("channel_count") extern uint32_t zvm_raw_channel_count(void);
ZI("channel_name") extern int32_t zvm_raw_channel_name(uint32_t i, uint32_t buf, uint32_t len);
ZI("channel_info") extern int32_t zvm_raw_channel_info(uint32_t i, uint32_t out);

#define A(p) ((uint32_t)(uintptr_t)(p))
#define END() ((uint32_t)__builtin_wasm_memory_size(0) * 65536u)

static void res(const char *what, int32_t r)
{
    say("%s %s %ld\n", r < 0 ? "ERR" : "ACCEPTED", what, (long)r);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 99;
    const char *m = argv[1];
    if (!strcmp(m, "list")) {
        int32_t n = zvm_channel_count();
        say("COUNT %ld\n", (long)n);
        for (int32_t i = 0; i < n; i++) {
            char name[256] = {0};
            int32_t r = zvm_channel_name(i, name, sizeof name - 1);
            say("CHAN %ld %s %ld\n", (long)i, r >= 0 ? name : "?", (long)r);
            struct zvm_channel_info info;
            memset(&info, 0xEE, sizeof info);
            r = zvm_channel_info(i, &info);
            say("INFO %ld type %lu name_len %lu size %llu limits %llu %llu %llu %llu r %ld\n", (long)i,
                (unsigned long)info.type, (unsigned long)info.name_len, (unsigned long long)info.size,
                (unsigned long long)info.gets, (unsigned long long)info.get_size,
                (unsigned long long)info.puts, (unsigned long long)info.put_size, (long)r);
        }
        char name[64];
        struct zvm_channel_info info;
        say("BADINDEX name %ld info %ld\n", (long)zvm_channel_name(n, name, sizeof name),
            (long)zvm_channel_info(n, &info));
        char cut[8];
        memset(cut, '#', sizeof cut);
        int32_t r = zvm_channel_name(0, cut, 4);
        say("CUT %ld %.8s\n", (long)r, cut);
    } else if (!strcmp(m, "io") && argc >= 4) {
        int32_t in = atoi(argv[2]), out = atoi(argv[3]);
        char b[16] = {0};
        int32_t r = zvm_pread(in, b, 5, 3);
        say("PREAD %ld %s\n", (long)r, b);
        memset(b, 0, sizeof b);
        r = zvm_pread(in, b, 4, 0);
        say("PREAD %ld %s\n", (long)r, b);
        say("PREAD negative offset %ld\n", (long)zvm_pread(in, b, 4, -1));
        say("PREAD at the end %ld\n", (long)zvm_pread(in, b, 4, 16));
        static const char msg[] = "zvm-api\n";
        say("PWRITE %ld\n", (long)zvm_pwrite(out, msg, sizeof msg - 1, 0));
        say("PWRITE to the input %ld\n", (long)zvm_pwrite(in, msg, 1, 0));
        zvm_exit(23);
        say("AFTER exit\n");
        return 1;
    } else if (!strcmp(m, "bad") && argc >= 4) {
        uint32_t in = (uint32_t)atoi(argv[2]), out = (uint32_t)atoi(argv[3]);
        char ok[16] = "0123456789";
        res("pread buf near the end, size 1 MiB", zvm_raw_pread(in, END() - 16, 1 << 20, 0));
        res("pread size 4 GiB - 1", zvm_raw_pread(in, A(ok), 0xFFFFFFFFu, 0));
        res("pread buf past the end", zvm_raw_pread(in, 0xFFFFFFF0u, 16, 0));
        res("pwrite buf near the end, size 1 MiB", zvm_raw_pwrite(out, END() - 16, 1 << 20, 0));
        res("pwrite size 4 GiB - 1", zvm_raw_pwrite(out, A(ok), 0xFFFFFFFFu, 0));
        res("pwrite buf past the end", zvm_raw_pwrite(out, 0xFFFFFFF0u, 16, 0));
        res("pread handle past the last", zvm_raw_pread(zvm_raw_channel_count(), A(ok), 4, 0));
        res("pwrite handle 0xFFFFFFFF", zvm_raw_pwrite(0xFFFFFFFFu, A(ok), 4, 0));
        res("channel_name buf past the end", zvm_raw_channel_name(0, 0xFFFFFFF0u, 100));
        res("channel_name near the end, len 4 GiB - 1", zvm_raw_channel_name(0, END() - 4, 0xFFFFFFFFu));
        res("channel_info out straddling the end", zvm_raw_channel_info(0, END() - 8));
        static const char msg[] = "still-fine\n";
        say("PWRITE %ld\n", (long)zvm_raw_pwrite(out, A(msg), sizeof msg - 1, 0));
    } else if (!strcmp(m, "quota") && argc >= 3) {
        int32_t out = atoi(argv[2]);
        say("PWRITE1 %ld\n", (long)zvm_pwrite(out, "abcdef", 6, 0));
        say("PWRITE2 %ld\n", (long)zvm_pwrite(out, "ghijkl", 6, 0));
        say("EDQUOT is %d\n", EDQUOT);
    } else {
        return 98;
    }
    done();
    return 0;
}
