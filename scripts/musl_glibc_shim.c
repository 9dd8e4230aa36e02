/*
 * Lets the linux-x64-musl release binary run on a Debian (glibc) box for its smoke check
 * (scripts/release_smoke.ts): Bun's musl runtime needs a libstdc++.so.6, and Debian ships only a
 * glibc-built one. Under musl's loader that library (and its libgcc_s.so.1) load, their libc.so.6 and
 * libm.so.6 resolve to musl itself, and the few glibc-only symbols they use come from this library,
 * built with Debian's musl-gcc (package musl-tools) and loaded under the name of the third file they
 * need, ld-linux-x86-64.so.2. On Alpine, the system's own libstdc++ (apk add libstdc++) is used instead.
 *
 * What each symbol is in glibc, and here:
 * - __libc_single_threaded: 0 = "may be multi-threaded", the safe answer (atomic reference counts).
 * - arc4random: random bits; from getrandom(2).
 * - __strftime_l: musl's strftime_l.
 * - __cxa_thread_atexit_impl: registers a thread_local's destructor; run at thread exit (a pthread key).
 * - _dl_find_object (glibc 2.35): the loaded object holding an address and its PT_GNU_EH_FRAME, which
 *   libgcc_s's unwinder asks for when a C++ exception is thrown; from dl_iterate_phdr.
 * - __cpu_model, __cpu_indicator_init: libgcc_s's CPU feature table, which musl's loader does not see in
 *   it (a hidden symbol version); all zero = no optional feature assumed.
 */
#define _GNU_SOURCE
#include <link.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

char __libc_single_threaded = 0;

uint32_t arc4random(void) {
  uint32_t v;
  while (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
  }
  return v;
}

size_t __strftime_l(char *s, size_t n, const char *format, const struct tm *tm, locale_t loc) {
  return strftime_l(s, n, format, tm, loc);
}

struct cpu_model {
  unsigned int vendor, type, subtype;
  unsigned int features[1];
};
struct cpu_model __cpu_model;
int __cpu_indicator_init(void) { return 0; }

struct dtor {
  void (*fn)(void *);
  void *obj;
  struct dtor *next;
};
static pthread_key_t dtor_key;
static pthread_once_t dtor_once = PTHREAD_ONCE_INIT;
static void run_dtors(void *p) {
  for (struct dtor *d = p; d;) {
    struct dtor *next = d->next;
    d->fn(d->obj);
    free(d);
    d = next;
  }
}
static void make_key(void) { pthread_key_create(&dtor_key, run_dtors); }
int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso) {
  (void)dso;
  pthread_once(&dtor_once, make_key);
  struct dtor *d = malloc(sizeof *d);
  if (!d) return -1;
  d->fn = fn;
  d->obj = obj;
  d->next = pthread_getspecific(dtor_key);
  pthread_setspecific(dtor_key, d);
  return 0;
}

/* glibc's struct dl_find_object on x86-64 */
struct dl_find_object {
  unsigned long long dlfo_flags;
  void *dlfo_map_start, *dlfo_map_end;
  struct link_map *dlfo_link_map;
  void *dlfo_eh_frame;
  unsigned long long reserved[7];
};
struct find {
  uintptr_t pc;
  struct dl_find_object *out;
  int found;
};
static int visit(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  struct find *f = arg;
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  void *eh = 0;
  int in = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *p = &info->dlpi_phdr[i];
    uintptr_t a = info->dlpi_addr + p->p_vaddr;
    if (p->p_type == PT_LOAD) {
      if (a < lo) lo = a;
      if (a + p->p_memsz > hi) hi = a + p->p_memsz;
      if (f->pc >= a && f->pc < a + p->p_memsz) in = 1;
    } else if (p->p_type == PT_GNU_EH_FRAME) {
      eh = (void *)a;
    }
  }
  if (!in) return 0;
  memset(f->out, 0, sizeof *f->out);
  f->out->dlfo_map_start = (void *)lo;
  f->out->dlfo_map_end = (void *)hi;
  f->out->dlfo_eh_frame = eh;
  f->found = 1;
  return 1;
}
int _dl_find_object(void *pc, struct dl_find_object *out) {
  struct find f = {(uintptr_t)pc, out, 0};
  dl_iterate_phdr(visit, &f);
  return f.found ? 0 : -1;
}
