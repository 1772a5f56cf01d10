/*
 * tests/cluster/install_fence.c: a program of a libcoordfence user,
 * built by tests/cluster/install.sh against the installed coordfence.h
 * through pkg-config (never against the source tree): in the fence store
 * DIR it admits token 5 then 7 for "job-lock", sees 6 refused as stale
 * (COORDFENCE_ESTALE, coord's COORD_EFENCED) and 7 as the highest.
 * Exit 0 when all of that holds.
 */
#include <coordfence.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	struct coordfence *f = NULL;
	uint64_t t = 0;
	char err[256];
	int rv;

	if (argc != 2) {
		fprintf(stderr, "usage: install_fence DIR\n");
		return 2;
	}
	rv = coordfence_open(argv[1], NULL, &f, err, sizeof(err));
	if (rv != COORDFENCE_OK) {
		fprintf(stderr, "install_fence: %s (%s)\n",
			coordfence_strerror(rv), err);
		return 1;
	}
	rv = coordfence_admit(f, "job-lock", 8, 5) == COORDFENCE_OK &&
			     coordfence_admit(f, "job-lock", 8, 7) == COORDFENCE_OK &&
			     coordfence_admit(f, "job-lock", 8, 6) == COORDFENCE_ESTALE &&
			     coordfence_highest(f, "job-lock", 8, &t) == COORDFENCE_OK &&
			     t == 7
		     ? 0
		     : 1;
	printf("admitted 5 and 7, refused 6 (%s), highest %llu\n",
	       coordfence_strerror(COORDFENCE_ESTALE), (unsigned long long)t);
	coordfence_close(f);
	return rv;
}
