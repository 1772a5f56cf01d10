/*
 * tests/cluster/install_prog.c: a program of a libcoord user, built by
 * tests/cluster/install.sh against the installed coord.h through
 * pkg-config (never against the source tree): it writes KEY = VALUE on
 * the endpoints given and reads it back, and prints the message of the
 * last error code of the table, so the installed coord_errors.h is the
 * whole table. Exit 0 when the value read is the value written.
 */
#include <coord.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct coord_client *c = NULL;
	struct coord_kvs *r = NULL;
	coord_err_t rc;
	int last = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: install_prog ENDPOINTS KEY VALUE\n");
		return 2;
	}
#define LAST_(name, value, message) last = (value);
	COORD_ERRORS(LAST_)
#undef LAST_
	printf("last code %d: %s\n", last, coord_strerror(last));
	rc = coord_client_new(argv[1], NULL, &c);
	if (rc == COORD_OK)
		rc = coord_put(c, argv[2], strlen(argv[2]), argv[3],
			       strlen(argv[3]), NULL);
	if (rc == COORD_OK)
		rc = coord_get(c, argv[2], strlen(argv[2]), NULL, &r);
	if (rc != COORD_OK) {
		fprintf(stderr, "install_prog: %s (%s)\n", coord_strerror(rc),
			c != NULL ? coord_errmsg(c) : "");
		coord_client_free(c);
		return 1;
	}
	rc = r->n == 1 && strcmp((const char *)r->kvs[0].value, argv[3]) == 0
		     ? 0
		     : 1;
	printf("read %s = %s\n", argv[2],
	       r->n == 1 ? (const char *)r->kvs[0].value : "(nothing)");
	coord_kvs_free(r);
	coord_client_free(c);
	return rc;
}
