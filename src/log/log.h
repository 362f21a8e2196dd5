/*
 * log/log.h: what the storage engine's modules share with their callers:
 * the per-partition configuration (Kafka's topic config names).
 *
 * Owns: nothing. The broker fills sl_log_config_t from topic configs and
 * hands a copy to each partition log (sl_partlog_set_config() at runtime).
 */
#ifndef SL_LOG_LOG_H
#define SL_LOG_LOG_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sl_log_config_s {
    int64_t segment_bytes;        /* segment.bytes, 1 GiB */
    int64_t segment_ms;           /* segment.ms, 7 days */
    int32_t index_interval_bytes; /* index.interval.bytes, 4096 */
    int32_t segment_index_bytes;  /* segment.index.bytes, 10 MiB */
    int64_t retention_ms;         /* retention.ms, 7 days; -1 = keep */
    int64_t retention_bytes;      /* retention.bytes, -1 = keep */
    int64_t flush_messages;       /* flush.messages, INT64_MAX = never */
    int64_t flush_ms;             /* flush.ms, INT64_MAX = never */
    bool log_append_time;         /* message.timestamp.type=LogAppendTime */
    int32_t max_message_bytes;    /* max.message.bytes, 1048588 */
    /* file.delete.delay.ms: kept for DescribeConfigs. Segment files are
     * unlinked at once; readers keep their open descriptors. */
    int64_t file_delete_delay_ms;
    /* compaction (log/cleaner.h); retention still follows retention.* */
    bool compact;                  /* cleanup.policy holds "compact" */
    int64_t delete_retention_ms;   /* delete.retention.ms, 1 day */
    int64_t min_compaction_lag_ms; /* min.compaction.lag.ms, 0 */
    int64_t max_compaction_lag_ms; /* max.compaction.lag.ms, INT64_MAX */
    double min_cleanable_ratio;    /* min.cleanable.dirty.ratio, 0.5 */
} sl_log_config_t;

/* Kafka's defaults. */
void sl_log_config_init(sl_log_config_t *c);

#endif
