/* libcoord/coord_errors.h: the error codes of coord.h. In the source tree
 * they are proto/errors.h; "make install" installs that file under this
 * name beside coord.h. */
#include "proto/errors.h"
