// SPDX-License-Identifier: AGPL-3.0-or-later
// The C glue Swift cannot express for libmicrohttpd: its variadic functions (start, daemon
// info) and its printf-style logger. Everything else is called from Swift directly.
#ifndef BOOTFSM_CMICROHTTPD_SHIM_H
#define BOOTFSM_CMICROHTTPD_SHIM_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/// A log sink for libmicrohttpd's messages, already formatted.
typedef void (*bootfsm_mhd_log_sink)(void *context, const char *message);

/// What the logger trampoline forwards to; must outlive the daemon.
struct bootfsm_mhd_logger {
    bootfsm_mhd_log_sink sink;
    void *context;
};

static inline void bootfsm_mhd_log_trampoline(void *cls, const char *format, va_list arguments) {
    const struct bootfsm_mhd_logger *logger = (const struct bootfsm_mhd_logger *)cls;
    char message[512];
    vsnprintf(message, sizeof message, format, arguments);
    logger->sink(logger->context, message);
}

/// The option item that routes libmicrohttpd's log messages to `logger`.
static inline struct MHD_OptionItem bootfsm_mhd_logger_option(struct bootfsm_mhd_logger *logger) {
    struct MHD_OptionItem item = {
        MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)&bootfsm_mhd_log_trampoline, logger
    };
    return item;
}

/// The option item for a request-completed callback.
static inline struct MHD_OptionItem bootfsm_mhd_completed_option(MHD_RequestCompletedCallback callback, void *context) {
    struct MHD_OptionItem item = { MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)callback, context };
    return item;
}

/// An unescaper for `MHD_OPTION_UNESCAPE_CALLBACK` (which has no typedef of its own): decodes `text`
/// in place and returns the length left.
typedef size_t (*bootfsm_mhd_unescaper)(void *cls, struct MHD_Connection *connection, char *text);

/// The option item that unescapes URIs and their arguments with `unescaper`.
static inline struct MHD_OptionItem bootfsm_mhd_unescape_option(bootfsm_mhd_unescaper unescaper) {
    struct MHD_OptionItem item = { MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescaper, NULL };
    return item;
}

/// `MHD_start_daemon` with its options passed as an `MHD_OPTION_END`-terminated array.
static inline struct MHD_Daemon *bootfsm_mhd_start_daemon(
    unsigned int flags, uint16_t port,
    MHD_AcceptPolicyCallback accept_policy, void *accept_policy_context,
    MHD_AccessHandlerCallback handler, void *handler_context,
    const struct MHD_OptionItem *options
) {
    return MHD_start_daemon(flags, port, accept_policy, accept_policy_context, handler, handler_context,
                            MHD_OPTION_ARRAY, options, MHD_OPTION_END);
}

/// How a client certificate checked out, for `client_auth_type`.
enum bootfsm_client_certificate {
    BOOTFSM_CLIENT_CERT_NONE = 0,      /* the client sent none (or the connection is not TLS) */
    BOOTFSM_CLIENT_CERT_VALID = 1,     /* sent, and it verifies against the trusted CAs */
    BOOTFSM_CLIENT_CERT_INVALID = 2,   /* sent, and it does not verify */
};

/// Checks the client certificate of a TLS connection (`MHD_get_connection_info` is variadic).
static inline enum bootfsm_client_certificate bootfsm_mhd_client_certificate(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (info == NULL || info->tls_session == NULL) return BOOTFSM_CLIENT_CERT_NONE;
    gnutls_session_t session = (gnutls_session_t)info->tls_session;
    unsigned int count = 0;
    if (gnutls_certificate_get_peers(session, &count) == NULL || count == 0) return BOOTFSM_CLIENT_CERT_NONE;
    unsigned int status = 0;
    if (gnutls_certificate_verify_peers2(session, &status) != GNUTLS_E_SUCCESS || status != 0) {
        return BOOTFSM_CLIENT_CERT_INVALID;
    }
    return BOOTFSM_CLIENT_CERT_VALID;
}

/// The port the daemon is bound to (`MHD_get_daemon_info` is variadic too), or 0.
static inline uint16_t bootfsm_mhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

#endif
