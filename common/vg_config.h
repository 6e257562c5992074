/* Configuration: `name = value` lines in a file, overridden by `--name=value` flags (O3).
 *
 * Each program declares a table of vg_opt ending with {0}. Defaults are applied first, then
 * the file, then the flags. String values are heap copies owned by the table's destinations;
 * vg_config_free releases them. */
#ifndef VG_CONFIG_H
#define VG_CONFIG_H

#include "vg.h"

#include <stdio.h>

typedef enum vg_opt_type { VG_OPT_STR = 1, VG_OPT_INT, VG_OPT_BOOL } vg_opt_type;

typedef struct vg_opt {
    const char *name;
    vg_opt_type type;
    const char *def; /* default, as it would be written in the file; NULL for none */
    const char *help;
    void *dst; /* char ** for STR, long * for INT, int * for BOOL */
} vg_opt;

void vg_config_defaults(const vg_opt *opts);
/* Parses config text; errors name the line. */
int vg_config_parse(const vg_opt *opts, const char *text, size_t len, vg_err *err);
int vg_config_load_file(const vg_opt *opts, const char *path, vg_err *err);
/* Applies --name=value / --name value flags (and --no-name for booleans) from argv[1..].
 * `--config FILE` is loaded first when present, so flags win over the file. */
int vg_config_args(const vg_opt *opts, int argc, char **argv, vg_err *err);
int vg_config_set(const vg_opt *opts, const char *name, const char *value, vg_err *err);
void vg_config_usage(const vg_opt *opts, FILE *out);
/* 1 when argv holds --check-config: the program validates its configuration (values, ranges,
 * that every file it names exists) and exits, 0 for a good one. vg_config_args skips the flag. */
int vg_config_check_only(int argc, char **argv);
/* Fails with "WHERE: name: reason", WHERE being the file and line that set the option, its
 * command-line flag or "default", so a check made after loading still names the line. Always
 * returns VG_ERR. */
int vg_config_invalid(const vg_opt *opts, const char *name, vg_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Each option of names[] (NULL-terminated) that has a value must name a path this process can
 * read: a missing certificate or secret is refused at start with its line, not at first use. */
int vg_config_check_paths(const vg_opt *opts, const char *const *names, vg_err *err);
void vg_config_free(const vg_opt *opts);

#endif
