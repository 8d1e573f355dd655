// SPDX-License-Identifier: AGPL-3.0-or-later
//
// A paced (open-loop) HTTP/1.1 load generator over keep-alive connections, for latency at a fixed
// rate: Debian's wrk has no -R. Request i is due at start + i/rate; it goes out on connection
// i mod N as soon as that connection is free. Its latency is the time from its write to its
// response plus the time it waited, past its due time, for a slow previous response on its
// connection: a slow response counts against the requests queued behind it (no coordinated
// omission), while this client's own wake-up lateness (0.1 ms and more on this VM) does not.
// due_p99 counts from the due time, client lateness included; service_ figures count from the
// write alone. Only 127.0.0.0/8 targets are accepted.
//
// Usage: pacedload [options] <ipv4> <port> <path>
//   -r RATE      requests per second (default 1000)
//   -d SECONDS   duration (default 10); 0 runs until SIGTERM/SIGINT (at most 1 hour)
//   -c N         connections (default 4)
//   -p           send Prometheus's scrape headers (OpenMetrics Accept, gzip)
//   -w           wait for the server to accept connections (up to 60 s) instead of failing
// Prints one line: requests=… errors=… rate=… p50_us=… p90_us=… p99_us=… p999_us=… max_us=…
// service_p50_us=… service_p99_us=… (the service_ figures count from the write instead of the due time).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 64
#define BUFFER_SIZE (1 << 20)

struct connection {
    int fd;
    int busy;
    uint64_t *due;            // due times of the requests queued on this connection (ring)
    uint64_t sent;            // when the request in flight was written
    uint64_t free_at;         // when the connection last became free (its last response arrived)
    size_t head, count, capacity;
    char *buffer;
    size_t filled;
};

static volatile sig_atomic_t stop_requested;
static void on_signal(int signal) { (void)signal; stop_requested = 1; }

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int open_connection(struct sockaddr_in *address, int wait) {
    uint64_t deadline = now_ns() + 60000000000ull;
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return -1;
        if (connect(fd, (struct sockaddr *)address, sizeof *address) == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return fd;
        }
        close(fd);
        if (!wait || now_ns() > deadline || stop_requested) return -1;
        usleep(5000);
    }
}

// The length of a complete response at the start of `buffer`, or 0 if incomplete, -1 if unusable.
static long response_length(const char *buffer, size_t filled) {
    const char *end = memmem(buffer, filled, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t header_length = (size_t)(end - buffer) + 4;
    const char *field = buffer;
    long content_length = -1;
    while (field < end) {
        const char *line_end = memmem(field, (size_t)(end + 2 - field), "\r\n", 2);
        if (!line_end) break;
        if (line_end - field > 15 && strncasecmp(field, "Content-Length:", 15) == 0) {
            content_length = strtol(field + 15, NULL, 10);
        }
        field = line_end + 2;
    }
    if (content_length < 0) return -1;
    size_t total = header_length + (size_t)content_length;
    return filled >= total ? (long)total : 0;
}

int main(int argc, char **argv) {
    double rate = 1000, duration = 10;
    int connections = 4, prometheus = 0, wait = 0, option;
    while ((option = getopt(argc, argv, "r:d:c:pw")) != -1) {
        switch (option) {
        case 'r': rate = atof(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'c': connections = atoi(optarg); break;
        case 'p': prometheus = 1; break;
        case 'w': wait = 1; break;
        default: return 2;
        }
    }
    if (argc - optind != 3 || rate <= 0 || connections < 1 || connections > MAX_CONNECTIONS) {
        fprintf(stderr, "usage: pacedload [-r rate] [-d seconds] [-c connections] [-p] [-w] <ipv4> <port> <path>\n");
        return 2;
    }
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[optind + 1])) };
    if (inet_pton(AF_INET, argv[optind], &address.sin_addr) != 1 || (ntohl(address.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "pacedload: only loopback IPv4 targets (127.0.0.0/8)\n");
        return 2;
    }
    if (duration <= 0 || duration > 3600) duration = 3600;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // wake up on time: a late client would count against the server

    char request[1024];
    int request_length = snprintf(request, sizeof request,
        "GET %s HTTP/1.1\r\nHost: %s:%s\r\n%s\r\n", argv[optind + 2], argv[optind], argv[optind + 1],
        prometheus ? "User-Agent: Prometheus/2.42.0\r\nAccept: application/openmetrics-text;version=1.0.0,"
                     "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
                     "Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n"
                   : "User-Agent: pacedload\r\n");

    size_t total = (size_t)(rate * duration);
    uint64_t *latencies = malloc(total * sizeof *latencies);
    uint64_t *service = malloc(total * sizeof *service);    // from the write
    uint64_t *from_due = malloc(total * sizeof *from_due);  // from the due time, client lateness included
    struct connection pool[MAX_CONNECTIONS];
    struct pollfd fds[MAX_CONNECTIONS];
    for (int i = 0; i < connections; i++) {
        pool[i] = (struct connection){ .fd = open_connection(&address, wait), .capacity = 1 << 16 };
        if (pool[i].fd < 0) { fprintf(stderr, "pacedload: cannot connect\n"); return 1; }
        pool[i].due = malloc(pool[i].capacity * sizeof(uint64_t));
        pool[i].buffer = malloc(BUFFER_SIZE);
    }

    uint64_t interval = (uint64_t)(1e9 / rate), start = now_ns();
    uint64_t deadline = start + (uint64_t)(duration * 1e9) + 30000000000ull;  // bounded, whatever happens
    size_t scheduled = 0, done = 0, errors = 0;
    while (!stop_requested && (scheduled < total || done + errors < scheduled)) {
        uint64_t now = now_ns();
        while (scheduled < total && start + scheduled * interval <= now) {
            struct connection *c = &pool[scheduled % (size_t)connections];
            if (c->count == c->capacity) { errors++; scheduled++; continue; }
            c->due[(c->head + c->count++) % c->capacity] = start + scheduled * interval;
            scheduled++;
        }
        for (int i = 0; i < connections; i++) {
            struct connection *c = &pool[i];
            if (!c->busy && c->count > 0) {
                if (write(c->fd, request, (size_t)request_length) != request_length) {
                    close(c->fd);
                    c->fd = open_connection(&address, 0);
                    errors++;
                    c->head = (c->head + 1) % c->capacity;
                    c->count--;
                    if (c->fd < 0) { fprintf(stderr, "pacedload: connection lost\n"); goto report; }
                    continue;
                }
                c->busy = 1;
                c->sent = now_ns();
            }
            fds[i] = (struct pollfd){ .fd = c->fd, .events = c->busy ? POLLIN : 0 };
        }
        uint64_t current = now_ns();
        if (current > deadline) { fprintf(stderr, "pacedload: responses missing at the deadline\n"); break; }
        uint64_t next = scheduled < total ? start + scheduled * interval : current + 100000000ull;
        uint64_t wait_ns = next > current ? next - current : 0;
        struct timespec timeout = { .tv_sec = (time_t)(wait_ns / 1000000000ull), .tv_nsec = (long)(wait_ns % 1000000000ull) };
        int ready = ppoll(fds, (nfds_t)connections, &timeout, NULL);
        if (ready < 0 && errno != EINTR) { perror("ppoll"); break; }
        for (int i = 0; ready > 0 && i < connections; i++) {
            struct connection *c = &pool[i];
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t got = read(c->fd, c->buffer + c->filled, BUFFER_SIZE - c->filled);
            if (got <= 0) {
                close(c->fd);
                errors++;
                c->head = (c->head + 1) % c->capacity;
                c->count--;
                c->busy = 0;
                c->filled = 0;
                c->fd = open_connection(&address, 0);
                if (c->fd < 0) { fprintf(stderr, "pacedload: connection lost\n"); goto report; }
                continue;
            }
            c->filled += (size_t)got;
            long length = response_length(c->buffer, c->filled);
            if (length < 0) { fprintf(stderr, "pacedload: response without Content-Length\n"); return 1; }
            if (length == 0) continue;
            uint64_t due = c->due[c->head];
            c->head = (c->head + 1) % c->capacity;
            c->count--;
            c->busy = 0;
            if (strncmp(c->buffer, "HTTP/1.1 200", 12) != 0) errors++;
            else {
                uint64_t received = now_ns();
                uint64_t queued = c->free_at > due ? c->free_at - due : 0;
                service[done] = received - c->sent;
                from_due[done] = received - due;
                latencies[done++] = received - c->sent + queued;
            }
            c->free_at = now_ns();
            memmove(c->buffer, c->buffer + length, c->filled - (size_t)length);
            c->filled -= (size_t)length;
        }
    }
report:;
    double elapsed = (double)(now_ns() - start) / 1e9;
    qsort(latencies, done, sizeof *latencies, compare);
    qsort(service, done, sizeof *service, compare);
    qsort(from_due, done, sizeof *from_due, compare);
#define PCT(a, p) (done ? (double)(a)[(size_t)((double)(done - 1) * (p))] / 1000.0 : 0.0)
    printf("requests=%zu errors=%zu rate=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
           "service_p50_us=%.1f service_p99_us=%.1f due_p99_us=%.1f\n",
           done, errors, done / elapsed, PCT(latencies, 0.50), PCT(latencies, 0.90), PCT(latencies, 0.99),
           PCT(latencies, 0.999), PCT(latencies, 1.0), PCT(service, 0.50), PCT(service, 0.99), PCT(from_due, 0.99));
    return errors > 0 && done == 0 ? 1 : 0;
}
