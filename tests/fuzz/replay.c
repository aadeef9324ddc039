/* replay.c: runs a fuzz target over saved inputs, without libFuzzer.
 *
 * Linked with one fuzz_*.c instead of -fsanitize=fuzzer, it calls the
 * target once for each file named (or each file in each directory named),
 * so the seed corpus and every input that once crashed are checked by a
 * plain build, fast, on any C compiler: that is the regression test.
 * Each input is copied into a buffer of exactly its size, so a sanitized
 * build catches a read one byte past the end.
 *
 * Usage: replay-NAME FILE|DIR...   exit 0 when every input passes
 * See also: fuzz.h, tests/fuzz.bats.
 */
#include "fuzz.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

static int replay_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        perror(path);
        return -1;
    }
    size_t capacity = 4096, size = 0;
    unsigned char *bytes = malloc(capacity);
    size_t got;
    while (bytes != NULL && (got = fread(bytes + size, 1, capacity - size, file)) > 0) {
        size += got;
        if (size == capacity) {
            unsigned char *bigger = realloc(bytes, capacity * 2);
            if (bigger == NULL)
                free(bytes);
            bytes = bigger;
            capacity *= 2;
        }
    }
    fclose(file);
    if (bytes == NULL) {
        fprintf(stderr, "%s: out of memory\n", path);
        return -1;
    }
    unsigned char *exact = malloc(size > 0 ? size : 1);
    if (exact == NULL) {
        free(bytes);
        return -1;
    }
    memcpy(exact, bytes, size);
    free(bytes);
    LLVMFuzzerTestOneInput(exact, size);
    free(exact);
    return 0;
}

/* Every regular file directly in DIR: the number replayed, or -1. */
static int replay_directory(const char *dir)
{
    DIR *listing = opendir(dir);
    if (listing == NULL) {
        perror(dir);
        return -1;
    }
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(listing)) != NULL) {
        char path[4096];
        struct stat info;
        if (entry->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        if (stat(path, &info) == 0 && S_ISREG(info.st_mode)) {
            if (replay_file(path) == -1)
                count = -1;
            else if (count >= 0)
                count++;
        }
    }
    closedir(listing);
    return count;
}

int main(int argc, char **argv)
{
    int total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat info;
        int count;
        if (stat(argv[i], &info) == 0 && S_ISDIR(info.st_mode))
            count = replay_directory(argv[i]);
        else
            count = (replay_file(argv[i]) == 0) ? 1 : -1;
        if (count < 0)
            return 1;
        total += count;
    }
    printf("replayed %d inputs: all passed\n", total);
    return 0;
}
