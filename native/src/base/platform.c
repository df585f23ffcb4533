/* exalloc - native core
 * base/platform.c: picks the one implementation of the OS contract (base/platform.h) for the
 * target. The implementations live in platform/ and are compiled only through this file. */
#if defined(_WIN32)
#  include "platform/win32.c"
#else
#  include "platform/posix.c"
#endif
