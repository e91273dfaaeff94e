/* zio: see zio.h. */
#include "zio.h"

bool bw_zio_readable(void *sock)
{
    int ev = 0;
    size_t sz = sizeof ev;
    return sock != NULL && zmq_getsockopt(sock, ZMQ_EVENTS, &ev, &sz) == 0 && (ev & ZMQ_POLLIN);
}

int bw_zio_recv(void *sock, zmq_msg_t *f, int max)
{
    int n = 0;
    for (;;) {
        zmq_msg_t scratch, *m = n < max ? &f[n] : &scratch;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(m);
            return n;   /* EAGAIN before the first frame; frames are atomic otherwise */
        }
        int more = zmq_msg_more(m);
        if (m == &scratch)
            zmq_msg_close(m);
        n++;
        if (!more)
            return n;
    }
}

void bw_zio_close(zmq_msg_t *f, int n, int max)
{
    for (int i = 0; i < n && i < max; i++)
        zmq_msg_close(&f[i]);
}

int bw_zio_send(void *sock, const bw_zio_frame *frames, int n, int flags)
{
    for (int i = 0; i < n; i++)
        if (zmq_send(sock, frames[i].data, frames[i].len, flags | (i + 1 < n ? ZMQ_SNDMORE : 0)) < 0)
            return -1;
    return 0;
}

int bw_zio_watch(uv_loop_t *loop, uv_poll_t *h, void *sock, uv_poll_cb cb, void *data, bw_err *err)
{
    int fd;
    size_t sz = sizeof fd;
    if (zmq_getsockopt(sock, ZMQ_FD, &fd, &sz) != 0)
        return bw_err_set(err, "ZMQ_FD: %s", zmq_strerror(zmq_errno()));
    int rc = uv_poll_init(loop, h, fd);
    h->data = data;
    if (rc == 0)
        rc = uv_poll_start(h, UV_READABLE, cb);
    if (rc != 0)
        return bw_err_set(err, "watching a socket: %s", uv_strerror(rc));
    return 0;
}
