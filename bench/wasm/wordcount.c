/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/wasm/wordcount.c: generates 64 MiB of text (words drawn from a
 * made-up vocabulary of 50,000 words with a skewed distribution, separated by
 * spaces and newlines), then counts bytes, lines and words like wc(1) and
 * the frequency of every distinct word with an open-addressing hash table.
 * Prints the counts and an order-independent checksum of the frequencies.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define TEXT_BYTES (64u << 20)
#define VOCAB 50000
#define TABLE_BITS 17                  /* 131072 slots > 2 x VOCAB */
#define MAXW 16

struct slot { uint32_t hash, len, off, count; };

static uint64_t rng = 0x853c49e6748fea9bu;
static uint32_t next32(void)
{
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545f4914f6cdd1du) >> 32);
}

int main(void)
{
    /* the vocabulary: VOCAB words of 1..12 lowercase letters */
    static char vocab[VOCAB][MAXW];
    static unsigned char vlen[VOCAB];
    for (int w = 0; w < VOCAB; w++) {
        int len = 1 + (int)(next32() % 12);
        for (int i = 0; i < len; i++)
            vocab[w][i] = (char)('a' + next32() % 26);
        vlen[w] = (unsigned char)len;
    }
    char *text = malloc(TEXT_BYTES);
    struct slot *table = calloc((size_t)1 << TABLE_BITS, sizeof *table);
    if (!text || !table) {
        fputs("wordcount: out of memory\n", stderr);
        return 1;
    }
    size_t pos = 0;
    while (pos + MAXW + 1 < TEXT_BYTES) {
        uint32_t r = next32();
        uint64_t u = r >> 8;                          /* 24 bits */
        int w = (int)((u * u >> 24) * VOCAB >> 24);   /* skewed towards small ids */
        for (int i = 0; i < vlen[w]; i++)
            text[pos++] = vocab[w][i];
        text[pos++] = (r & 15) == 0 ? '\n' : ' ';
    }
    while (pos < TEXT_BYTES)
        text[pos++] = ' ';

    /* count */
    uint64_t lines = 0, words = 0, distinct = 0;
    const uint32_t mask = (1u << TABLE_BITS) - 1;
    size_t i = 0;
    while (i < TEXT_BYTES) {
        char ch = text[i];
        if (ch == ' ' || ch == '\n' || ch == '\t') {
            lines += ch == '\n';
            i++;
            continue;
        }
        size_t start = i;
        uint32_t h = 2166136261u;                    /* FNV-1a */
        while (i < TEXT_BYTES && text[i] != ' ' && text[i] != '\n' && text[i] != '\t') {
            h = (h ^ (unsigned char)text[i]) * 16777619u;
            i++;
        }
        uint32_t len = (uint32_t)(i - start);
        words++;
        for (uint32_t k = h & mask;; k = (k + 1) & mask) {
            struct slot *s = &table[k];
            if (s->count == 0) {
                s->hash = h; s->len = len; s->off = (uint32_t)start; s->count = 1;
                distinct++;
                break;
            }
            if (s->hash == h && s->len == len) {
                const char *p = text + s->off, *q = text + start;
                uint32_t j = 0;
                while (j < len && p[j] == q[j])
                    j++;
                if (j == len) {
                    s->count++;
                    break;
                }
            }
        }
    }
    uint64_t check = 0, maxc = 0;
    for (uint32_t k = 0; k <= mask; k++)
        if (table[k].count) {
            check += (uint64_t)table[k].hash * table[k].count;
            if (table[k].count > maxc)
                maxc = table[k].count;
        }
    printf("wordcount: bytes=%u lines=%llu words=%llu distinct=%llu max=%llu check=%016llx\n",
           TEXT_BYTES, (unsigned long long)lines, (unsigned long long)words,
           (unsigned long long)distinct, (unsigned long long)maxc, (unsigned long long)check);
    free(text); free(table);
    return 0;
}
