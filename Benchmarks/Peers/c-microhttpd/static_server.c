// SPDX-License-Identifier: AGPL-3.0-or-later
//
// Benchmark peer, never shipped: the limit of libmicrohttpd on this machine. Answers every GET with
// the same bytes (a file read once at start) from a static buffer, with boot-exporter's daemon flags
// (internal polling thread, epoll, turbo, a pool of threads) and its keep-alive behaviour: the
// response is queued on the second call of the access handler, since queueing on the first makes
// libmicrohttpd answer `Connection: close`. Its per-connection memory is libmicrohttpd's default
// (32 KiB), as a plain server's is, unless given: `make bench` also runs it with boot-exporter's
// 16 KiB, since libmicrohttpd zeroes that memory after every request of a kept-alive connection.
//
// Usage: static_server <port> <body file> [threads] [connection memory bytes]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char *body;
static size_t body_size;
static int started;

static enum MHD_Result answer(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size, void **request) {
    (void)cls; (void)url; (void)method; (void)version; (void)upload_data;
    if (*request == NULL) {
        *request = &started;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    struct MHD_Response *response = MHD_create_response_from_buffer(body_size, body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(response, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    enum MHD_Result result = MHD_queue_response(connection, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return result;
}

static void on_signal(int signal) { (void)signal; }

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: static_server <port> <body file> [threads] [connection memory bytes]\n");
        return 2;
    }
    FILE *file = fopen(argv[2], "rb");
    if (!file) { perror(argv[2]); return 1; }
    fseek(file, 0, SEEK_END);
    body_size = (size_t)ftell(file);
    fseek(file, 0, SEEK_SET);
    body = malloc(body_size);
    if (fread(body, 1, body_size, file) != body_size) { perror("read"); return 1; }
    fclose(file);
    unsigned threads = argc > 3 ? (unsigned)atoi(argv[3]) : 2;
    size_t memory = argc > 4 ? (size_t)atol(argv[4]) : 32 * 1024;

    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_TURBO | MHD_USE_ERROR_LOG,
        (uint16_t)atoi(argv[1]), NULL, NULL, answer, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, memory,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_END);
    if (!daemon) { fprintf(stderr, "cannot start\n"); return 1; }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    pause();
    MHD_stop_daemon(daemon);
    return 0;
}
