/* zio: the few ZeroMQ idioms the libuv loop relies on, in one place. ZMQ_FD
 * is edge-triggered and only signals after a read has found the socket empty,
 * so every socket the loop watches is read with these until EAGAIN. */
#ifndef BW_ZIO_H
#define BW_ZIO_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>
#include <zmq.h>

#include "err.h"

/* True if a message can be read now (ZMQ_EVENTS has POLLIN). NULL: false. */
bool bw_zio_readable(void *sock);

/* Reads one whole multipart message without blocking. The first `max` frames
 * land in f (the caller closes them with bw_zio_close); later ones are read and
 * dropped, but counted. Returns the frame count, 0 if there was no message. */
int bw_zio_recv(void *sock, zmq_msg_t *f, int max);
void bw_zio_close(zmq_msg_t *f, int n, int max);

/* Sends n frames as one message; -1 (errno from zmq) if any send failed. */
typedef struct bw_zio_frame {
    const void *data;
    size_t len;
} bw_zio_frame;
int bw_zio_send(void *sock, const bw_zio_frame *frames, int n, int flags);

/* Watches sock's ZMQ_FD with h (h->data = data) and calls cb when it may be
 * readable. */
int bw_zio_watch(uv_loop_t *loop, uv_poll_t *h, void *sock, uv_poll_cb cb, void *data, bw_err *err);

#endif
