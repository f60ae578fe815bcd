#include "common/errcode.h"

const char *gs_strerror(int code)
{
	switch (code) {
	case GS_EOK:
		return "ok";
	case GS_EINVAL:
		return "invalid value";
	case GS_ENOMEM:
		return "out of memory";
	case GS_EIO:
		return "i/o error";
	case GS_ENOENT:
		return "not found";
	case GS_EEXIST:
		return "already exists";
	case GS_ERANGE:
		return "value out of range";
	case GS_ESYNTAX:
		return "syntax error";
	case GS_ESPACE:
		return "not enough space";
	case GS_EMALF:
		return "malformed data";
	case GS_ELIMIT:
		return "limit reached";
	case GS_ECONFIG:
		return "invalid configuration";
	case GS_EZONE:
		return "invalid zone data";
	case GS_ESYS:
		return "system error";
	default:
		return "unknown error";
	}
}
