/*
 * proto/errors.c: messages and names of the error codes in proto/errors.h.
 */
#include "proto/errors.h"

#include <stddef.h>

const char *coord_strerror(int code)
{
	switch (code) {
#define COORD_ERROR_MESSAGE_(name, value, message)                           \
	case (value):                                                        \
		return (message);
		COORD_ERRORS(COORD_ERROR_MESSAGE_)
#undef COORD_ERROR_MESSAGE_
	}
	return "unknown error";
}

const char *coord_error_name(int code)
{
	switch (code) {
#define COORD_ERROR_NAME_(name, value, message)                              \
	case (value):                                                        \
		return #name;
		COORD_ERRORS(COORD_ERROR_NAME_)
#undef COORD_ERROR_NAME_
	}
	return "COORD_E?";
}
