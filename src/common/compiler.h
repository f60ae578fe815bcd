/* compiler.h: attribute and branch-hint macros shared by all modules. */
#ifndef GS_COMMON_COMPILER_H
#define GS_COMMON_COMPILER_H

#if defined(__GNUC__) || defined(__clang__)
#define GS_LIKELY(x) __builtin_expect(!!(x), 1)
#define GS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define GS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define GS_NORETURN __attribute__((noreturn))
#define GS_UNUSED __attribute__((unused))
#define GS_WARN_UNUSED __attribute__((warn_unused_result))
#define GS_MALLOC __attribute__((malloc, returns_nonnull))
#else
#define GS_LIKELY(x) (x)
#define GS_UNLIKELY(x) (x)
#define GS_PRINTF(f, a)
#define GS_NORETURN
#define GS_UNUSED
#define GS_WARN_UNUSED
#define GS_MALLOC
#endif

#define GS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Statics that unit tests reach are declared with GS_STATIC: static in the
 * product, external under GS_UNITTEST. */
#ifdef GS_UNITTEST
#define GS_STATIC
#else
#define GS_STATIC static
#endif

#endif
