/*
 * core/log.h: log lines, one per event: "<time> <level> <module>: message
 * key=value ...". Written to stderr with one write() per line, so lines from
 * several threads never interleave.
 *
 * Owns: the global level. Thread-safe.
 */
#ifndef SL_CORE_LOG_H
#define SL_CORE_LOG_H

typedef enum sl_log_level_e {
    SL_LOG_DEBUG = 0,
    SL_LOG_INFO = 1,
    SL_LOG_WARN = 2,
    SL_LOG_ERROR = 3,
    SL_LOG_OFF = 4,
} sl_log_level_e;

void sl_log_set_level(sl_log_level_e level);
sl_log_level_e sl_log_get_level(void);
/* Parse "debug", "info", "warn", "error", "off"; returns -1 on no match. */
int sl_log_parse_level(const char *s);

void sl_log_write(sl_log_level_e level, const char *module, const char *fmt,
                  ...) __attribute__((format(printf, 3, 4)));

#define sl_log_debug(mod, ...) sl_log_write(SL_LOG_DEBUG, (mod), __VA_ARGS__)
#define sl_log_info(mod, ...) sl_log_write(SL_LOG_INFO, (mod), __VA_ARGS__)
#define sl_log_warn(mod, ...) sl_log_write(SL_LOG_WARN, (mod), __VA_ARGS__)
#define sl_log_error(mod, ...) sl_log_write(SL_LOG_ERROR, (mod), __VA_ARGS__)

#endif
