// SPDX-License-Identifier: GPL-2.0
/*
 * Replays fuzz inputs (seed corpus and kept crashers) through a fuzz
 * target without libFuzzer, so `make check` runs them under ASan+UBSan
 * with the ordinary compiler.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "replay: %s: short read\n", path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int n = 0;
	char path[4096];

	for (int i = 1; i < argc; i++) {
		struct stat st;
		struct dirent *d;
		DIR *dir;

		if (stat(argv[i], &st) || !S_ISDIR(st.st_mode)) {
			if (replay_file(argv[i]))
				return 1;
			n++;
			continue;
		}
		dir = opendir(argv[i]);
		while (dir && (d = readdir(dir))) {
			if (d->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], d->d_name);
			if (replay_file(path))
				return 1;
			n++;
		}
		if (dir)
			closedir(dir);
	}
	printf("replayed %u inputs\n", n);
	return n ? 0 : 1;
}
