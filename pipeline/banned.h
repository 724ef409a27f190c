/*
 * banned.h - functions that are too easy to misuse (after git's banned.h).
 *
 * Include it LAST in a .c file, after every system header: the macros turn
 * a call into a compile error naming the function.  `make lint` also greps
 * for them, for files that forget the include.
 */
#ifndef REVPIPE_BANNED_H
#define REVPIPE_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef gets
#define gets(x) BANNED(gets)

#endif
