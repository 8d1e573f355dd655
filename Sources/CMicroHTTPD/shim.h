// SPDX-License-Identifier: AGPL-3.0-or-later
// The C glue Swift cannot express for libmicrohttpd: its variadic functions (start, daemon
// info), its printf-style logger, and the client certificate check that runs inside the TLS
// handshake. Everything else is called from Swift directly.
#ifndef BOOTFSM_CMICROHTTPD_SHIM_H
#define BOOTFSM_CMICROHTTPD_SHIM_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
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

/// What the TLS handshake demands of client certificates, from `client_auth_type` and
/// `client_allowed_sans`. The handshake is where Go's crypto/tls refuses a client certificate, so a
/// refused client gets no HTTP answer there and none here.
struct bootfsm_client_policy {
    int require;                /* a handshake without a client certificate fails */
    int verify;                 /* a certificate sent must chain to the trusted CAs and allow client authentication */
    const char *allowed_sans;   /* when not NULL: '\n'-separated; a certificate must carry one of them */
};

/// Whether `value` is one of the lines of `list`.
static inline int bootfsm_san_listed(const char *list, const char *value, size_t length) {
    for (const char *line = list; *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t line_length = end ? (size_t)(end - line) : strlen(line);
        if (line_length == length && memcmp(line, value, length) == 0) return 1;
        if (end == NULL) break;
        line = end + 1;
    }
    return 0;
}

/// Whether the certificate carries one of the allowed subject alternative names: DNS names, email
/// addresses and URIs as written, IP addresses in their usual text form (as the exporter toolkit
/// compares them).
static inline int bootfsm_certificate_has_allowed_san(const gnutls_datum_t *der, const char *allowed) {
    gnutls_x509_crt_t certificate;
    if (gnutls_x509_crt_init(&certificate) != GNUTLS_E_SUCCESS) return 0;
    int found = 0;
    if (gnutls_x509_crt_import(certificate, der, GNUTLS_X509_FMT_DER) == GNUTLS_E_SUCCESS) {
        for (unsigned int index = 0; !found; index++) {
            char name[1024];
            size_t size = sizeof name - 1;
            int type = gnutls_x509_crt_get_subject_alt_name(certificate, index, name, &size, NULL);
            if (type == GNUTLS_E_SHORT_MEMORY_BUFFER) continue;  /* no allowed name is that long */
            if (type < 0) break;  /* the last name, or an unreadable extension: nothing more to match */
            switch (type) {
            case GNUTLS_SAN_DNSNAME:
            case GNUTLS_SAN_RFC822NAME:
            case GNUTLS_SAN_URI:
                found = bootfsm_san_listed(allowed, name, size);
                break;
            case GNUTLS_SAN_IPADDRESS: {
                char text[INET6_ADDRSTRLEN];
                int family = size == 4 ? AF_INET : size == 16 ? AF_INET6 : 0;
                if (family != 0 && inet_ntop(family, name, text, sizeof text) != NULL) {
                    found = bootfsm_san_listed(allowed, text, strlen(text));
                }
                break;
            }
            default:
                break;
            }
        }
    }
    gnutls_x509_crt_deinit(certificate);
    return found;
}

/// The GnuTLS verify callback, run during the handshake once the client's certificate (or its
/// absence) is known: non-zero fails the handshake.
static inline int bootfsm_verify_client_certificate(gnutls_session_t session) {
    struct MHD_Connection *connection = (struct MHD_Connection *)gnutls_session_get_ptr(session);
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (info == NULL || info->socket_context == NULL) return -1;
    const struct bootfsm_client_policy *policy = (const struct bootfsm_client_policy *)info->socket_context;
    unsigned int count = 0;
    const gnutls_datum_t *chain = gnutls_certificate_get_peers(session, &count);
    if (chain == NULL || count == 0) {
        return policy->require || policy->allowed_sans != NULL ? -1 : 0;
    }
    if (policy->verify) {
        /* The key purpose is checked with the chain: an extended key usage that names neither client
           authentication nor any purpose fails; a certificate without the extension passes. */
        gnutls_typed_vdata_st purpose = { GNUTLS_DT_KEY_PURPOSE_OID, (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0 };
        unsigned int status = 0;
        if (gnutls_certificate_verify_peers(session, &purpose, 1, &status) != GNUTLS_E_SUCCESS || status != 0) return -1;
    }
    if (policy->allowed_sans != NULL && !bootfsm_certificate_has_allowed_san(&chain[0], policy->allowed_sans)) return -1;
    return 0;
}

/// Hands each new TLS session the client certificate policy (in the connection's socket context,
/// where the verify callback finds it) before its handshake starts.
static inline void bootfsm_mhd_connection_started(void *cls, struct MHD_Connection *connection,
                                                  void **socket_context, enum MHD_ConnectionNotificationCode code) {
    if (code != MHD_CONNECTION_NOTIFY_STARTED) return;
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (info == NULL || info->tls_session == NULL) return;
    const struct bootfsm_client_policy *policy = (const struct bootfsm_client_policy *)cls;
    gnutls_session_t session = (gnutls_session_t)info->tls_session;
    *socket_context = cls;
    /* libmicrohttpd requests a certificate only when it has CAs, and never demands one; Go's Require*
       types demand one. */
    gnutls_certificate_server_set_request(session, policy->require ? GNUTLS_CERT_REQUIRE : GNUTLS_CERT_REQUEST);
    gnutls_session_set_verify_function(session, bootfsm_verify_client_certificate);
}

/// The option item that applies `policy` to every TLS connection's handshake.
static inline struct MHD_OptionItem bootfsm_mhd_client_policy_option(struct bootfsm_client_policy *policy) {
    struct MHD_OptionItem item = {
        MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)&bootfsm_mhd_connection_started, policy
    };
    return item;
}

/// The client's IP address as text in `text` (empty when unknown); `MHD_get_connection_info` is variadic.
static inline void bootfsm_mhd_client_address(struct MHD_Connection *connection, char *text, size_t size) {
    text[0] = '\0';
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL) return;
    const struct sockaddr *address = info->client_addr;
    if (address->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)address)->sin_addr, text, (socklen_t)size);
    } else if (address->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)address)->sin6_addr, text, (socklen_t)size);
    }
}

/// The port the daemon is bound to (`MHD_get_daemon_info` is variadic too), or 0.
static inline uint16_t bootfsm_mhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

#endif
