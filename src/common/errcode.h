/* errcode.h: the project's error codes. Fallible functions return 0 on
 * success or one of these negative codes. */
#ifndef GS_COMMON_ERRCODE_H
#define GS_COMMON_ERRCODE_H

enum {
	GS_EOK = 0,
	GS_EINVAL = -1000, /* invalid argument or value */
	GS_ENOMEM,	   /* out of memory (only where we don't abort) */
	GS_EIO,		   /* I/O error, errno logged by the caller */
	GS_ENOENT,	   /* not found */
	GS_EEXIST,	   /* already exists (duplicate) */
	GS_ERANGE,	   /* value out of range */
	GS_ESYNTAX,	   /* syntax error in input */
	GS_ESPACE,	   /* not enough room in an output buffer */
	GS_EMALF,	   /* malformed wire data */
	GS_ELIMIT,	   /* a configured or built-in limit was reached */
	GS_ECONFIG,	   /* configuration invalid */
	GS_EZONE,	   /* zone data invalid */
	GS_ESYS,	   /* system call failed, see errno */
};

/* Returns a static, lowercase description of code; never NULL. Any thread. */
const char *gs_strerror(int code);

#endif
