/*
 * A complete patchdeck probe in C, written from include/patchdeck_probe.h alone.
 *
 * Kind "c-example". Config (the [probe.config] table, passed as JSON):
 *   status  = "ok" | "warning" | "critical" | "unknown"   (default "ok")
 *   work_ms = milliseconds of pretend work, cancellable    (default 0)
 * Anything else in status makes create() fail with a message naming the field.
 *
 * Build:  cc -shared -fPIC -O2 -Wall -Wextra -I probe-api/include \
 *            probe-api/examples/c/example_probe.c -o libc_example.so
 * Then put libc_example.so in a folder listed in plugin_dirs and use plugin = "c-example".
 */
#include "patchdeck_probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Example {
    const PdHostApi *host; /* valid until destroy() returns */
    char status[16];
    long work_ms;
    unsigned long runs;
} Example;

/* Releases bytes we malloc'ed: the host calls this once after copying them. */
static void release_malloced(PdOwnedBytes *bytes) {
    free(bytes->ptr);
    bytes->ptr = NULL;
    bytes->len = 0;
}

/* Hands a copy of a C string to the host through a PdOwnedBytes. */
static void give(PdOwnedBytes *out, const char *text) {
    size_t len = strlen(text);
    out->ptr = (uint8_t *)malloc(len ? len : 1);
    if (out->ptr == NULL) {
        out->len = 0;
        out->release = NULL;
        return;
    }
    memcpy(out->ptr, text, len);
    out->len = len;
    out->private_data = NULL;
    out->release = release_malloced;
}

static void log_line(const PdHostApi *host, uint32_t level, const char *text) {
    if (host != NULL && host->log != NULL) {
        PdStr msg = {(const uint8_t *)text, strlen(text)};
        host->log(host->host_ctx, level, msg);
    }
}

/*
 * Finds "key":"value" in a flat JSON object. A real probe would use a JSON parser; this
 * example stays dependency-free. Returns 1 and copies the value when found.
 */
static int json_string_field(const char *json, size_t json_len, const char *key, char *out, size_t out_len) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    char *copy = (char *)malloc(json_len + 1);
    if (copy == NULL) return 0;
    memcpy(copy, json, json_len);
    copy[json_len] = '\0';
    int found = 0;
    char *at = strstr(copy, pattern);
    if (at != NULL) {
        at = strchr(at + strlen(pattern), ':');
        if (at != NULL) at = strchr(at, '"');
        if (at != NULL) {
            char *end = strchr(at + 1, '"');
            if (end != NULL && (size_t)(end - at - 1) < out_len) {
                memcpy(out, at + 1, (size_t)(end - at - 1));
                out[end - at - 1] = '\0';
                found = 1;
            }
        }
    }
    free(copy);
    return found;
}

static long json_number_field(const char *json, size_t json_len, const char *key, long fallback) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    char *copy = (char *)malloc(json_len + 1);
    if (copy == NULL) return fallback;
    memcpy(copy, json, json_len);
    copy[json_len] = '\0';
    long value = fallback;
    char *at = strstr(copy, pattern);
    if (at != NULL && (at = strchr(at + strlen(pattern), ':')) != NULL) value = strtol(at + 1, NULL, 10);
    free(copy);
    return value;
}

static int32_t example_create(const PdHostApi *host, PdStr config_json, void **out_instance,
                              PdOwnedBytes *out_error) {
    Example *ex = (Example *)calloc(1, sizeof *ex);
    if (ex == NULL) {
        give(out_error, "out of memory");
        return PD_ERROR;
    }
    ex->host = host;
    strcpy(ex->status, "ok");
    json_string_field((const char *)config_json.ptr, config_json.len, "status", ex->status, sizeof ex->status);
    if (strcmp(ex->status, "ok") && strcmp(ex->status, "warning") && strcmp(ex->status, "critical") &&
        strcmp(ex->status, "unknown")) {
        char msg[128];
        snprintf(msg, sizeof msg, "field status: \"%s\" is not one of ok, warning, critical, unknown", ex->status);
        give(out_error, msg);
        free(ex);
        return PD_ERROR;
    }
    ex->work_ms = json_number_field((const char *)config_json.ptr, config_json.len, "work_ms", 0);
    log_line(host, PD_LOG_INFO, "c-example instance created");
    *out_instance = ex;
    return PD_OK;
}

static int32_t example_check(void *instance, const PdCallCtx *call, PdOwnedBytes *out_report_json) {
    Example *ex = (Example *)instance;
    /* Pretend work in 10 ms slices, giving up as soon as the host cancels. */
    for (long waited = 0; waited < ex->work_ms; waited += 10) {
        if (__atomic_load_n(call->cancel, __ATOMIC_RELAXED) != 0) {
            give(out_report_json, "cancelled by the host");
            return PD_CANCELLED;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ex->runs++;
    char report[768];
    /* Schema 1.1: an item that is not ok says what was seen (evidence) and what to do (fix). */
    int ok = strcmp(ex->status, "ok") == 0;
    snprintf(report, sizeof report,
             "{\"status\":\"%s\",\"summary\":\"hello from C (run %lu)\","
             "\"details\":[{\"label\":\"Timeout\",\"value\":\"%u ms\"}],"
             "\"metrics\":[{\"label\":\"runs\",\"value\":%lu,\"uom\":\"c\"}],"
             "\"items\":[{\"id\":\"c\",\"title\":\"Written in C\",\"status\":\"%s\","
             "\"summary\":\"%s\"%s}]}",
             ex->status, ex->runs, call->timeout_ms, ex->runs, ex->status,
             ok ? "fine" : "told to report this status",
             ok ? "" : ",\"evidence\":\"[probe.config] status is not ok\","
                       "\"fix\":\"Set status = \\\"ok\\\" in this probe's [probe.config].\"");
    give(out_report_json, report);
    return PD_OK;
}

static void example_destroy(void *instance) {
    free(instance);
}

static const PdProbeV1 DESCRIPTOR = {
    PD_MAGIC,
    PD_ABI_MAJOR,
    PD_ABI_MINOR,
    sizeof(PdProbeV1),
    0,
    "c-example",
    "0.1.0",
    "Example probe written in C against patchdeck_probe.h",
    NULL,
    example_create,
    example_check,
    example_destroy,
    NULL, /* rules_json (ABI 1.1): this probe publishes no rule index; see PdRulesFn */
};

PD_EXPORT const PdProbeV1 *patchdeck_probe_v1(uint16_t host_major, uint16_t host_minor) {
    (void)host_minor;
    return host_major == PD_ABI_MAJOR ? &DESCRIPTOR : NULL;
}
