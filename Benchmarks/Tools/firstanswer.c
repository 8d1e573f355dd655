// SPDX-License-Identifier: AGPL-3.0-or-later
//
// Time from starting a server to its first answered HTTP request: starts the command, then tries
// GET <path> on 127.0.0.1:<port> every 0.5 ms until a status line comes back, prints the elapsed
// milliseconds, and stops the server (SIGTERM, then SIGKILL after 5 s). Gives up after 30 s.
//
// Usage: firstanswer <port> <path> <command> [arguments…]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int answered(const struct sockaddr_in *address, const char *request) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    int ok = 0;
    if (connect(fd, (const struct sockaddr *)address, sizeof *address) == 0 &&
        write(fd, request, strlen(request)) == (ssize_t)strlen(request)) {
        struct timeval timeout = { .tv_sec = 5 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        char buffer[16];
        ssize_t got = read(fd, buffer, sizeof buffer);
        ok = got >= 9 && memcmp(buffer, "HTTP/1.", 7) == 0;
    }
    close(fd);
    return ok;
}

static void stop(pid_t child) {
    kill(child, SIGTERM);
    for (int i = 0; i < 500; i++) {
        if (waitpid(child, NULL, WNOHANG) == child) return;
        usleep(10000);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: firstanswer <port> <path> <command> [arguments...]\n");
        return 2;
    }
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char request[512];
    snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", argv[2]);

    uint64_t start = now_ns();
    pid_t child = fork();
    if (child == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execvp(argv[3], argv + 3);
        _exit(127);
    }
    while (!answered(&address, request)) {
        if (waitpid(child, NULL, WNOHANG) == child) {
            fprintf(stderr, "firstanswer: the server exited before answering\n");
            return 1;
        }
        if (now_ns() - start > 30000000000ull) {
            fprintf(stderr, "firstanswer: no answer in 30 s\n");
            stop(child);
            return 1;
        }
        usleep(500);
    }
    printf("%.3f\n", (double)(now_ns() - start) / 1e6);
    stop(child);
    return 0;
}
