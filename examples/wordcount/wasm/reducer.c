/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The wordcount reducer in C for the wasm engine: the same job as
 * reducer.py.  Reads every stream in /dev/in (sorted by name), each line
 * "<count> <name>", and prints them right-aligned in a column as wide as
 * the largest count plus one (Python's int(log10(max)) + 2), then the total.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    unsigned long long count;
    char name[1024];
} entry_t;

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    DIR *d = opendir("/dev/in");
    if (!d) {
        perror("/dev/in");
        return 1;
    }
    char **files = NULL;
    size_t nfiles = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        files = realloc(files, (nfiles + 1) * sizeof *files);
        if (!files || !(files[nfiles] = strdup(e->d_name)))
            return 1;
        nfiles++;
    }
    closedir(d);
    qsort(files, nfiles, sizeof *files, cmp);

    entry_t *data = NULL;
    size_t ndata = 0;
    unsigned long long total = 0, max_count = 0;
    char path[2048], line[2048];
    for (size_t i = 0; i < nfiles; i++) {
        snprintf(path, sizeof path, "/dev/in/%s", files[i]);
        FILE *f = fopen(path, "r");
        if (!f) {
            perror(path);
            return 1;
        }
        while (fgets(line, sizeof line, f)) {
            entry_t en;
            if (sscanf(line, "%llu %1023s", &en.count, en.name) != 2) {
                fprintf(stderr, "%s: bad line '%s'\n", path, line);
                return 1;
            }
            data = realloc(data, (ndata + 1) * sizeof *data);
            if (!data)
                return 1;
            data[ndata++] = en;
            if (en.count > max_count)
                max_count = en.count;
            total += en.count;
        }
        fclose(f);
        free(files[i]);
    }
    free(files);
    int width = 1;
    for (unsigned long long m = max_count; m >= 10; m /= 10)
        width++;
    width += 1;
    for (size_t i = 0; i < ndata; i++)
        printf("%*llu %s\n", width, data[i].count, data[i].name);
    printf("%*llu %s\n", width, total, "total");
    free(data);
    return 0;
}
