/* The crypto worker pool. A job lives on its caller's stack; it is linked in
 * the pool's list while it has unclaimed items, and `users` counts the
 * workers inside it so the caller returns only once nobody can touch it. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "pool.h"

/* Fewer items than this are not worth waking a worker for. */
#define POOL_MIN_SPLIT 4
#define POOL_MAX_WORKERS 64

struct pool_job {
	pool_fn fn;
	void *ctx;
	unsigned n;
	_Atomic unsigned next, done;
	unsigned users;          /* workers inside, under the pool mutex */
	bool linked;             /* in the pool's list, under the pool mutex */
	struct pool_job *link;
};

struct wg_pool {
	pthread_mutex_t mu;
	pthread_cond_t work_cv; /* workers: a job was queued, or stop */
	pthread_cond_t done_cv; /* callers: a job finished, or a worker left one */
	struct pool_job *jobs;  /* jobs with items possibly unclaimed */
	bool stop;
	unsigned nthreads;
	pthread_t th[];
};

unsigned pool_default_workers(void)
{
	const char *e = getenv("KEYWAY_WG_WORKERS");
	long ncpu;

	if (e && *e) {
		char *end;
		long v = strtol(e, &end, 10);
		if (!*end && v >= 0 && v <= POOL_MAX_WORKERS)
			return (unsigned)v;
	}
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu <= 1)
		return 0;
	if (ncpu <= 3)
		return 1;
	return ncpu - 2 > POOL_MAX_WORKERS ? POOL_MAX_WORKERS : (unsigned)(ncpu - 2);
}

static void job_unlink_locked(struct wg_pool *p, struct pool_job *j)
{
	struct pool_job **pp;

	if (!j->linked)
		return;
	for (pp = &p->jobs; *pp; pp = &(*pp)->link) {
		if (*pp == j) {
			*pp = j->link;
			break;
		}
	}
	j->linked = false;
}

/* Claims and runs items until none is left. */
static void job_work(struct pool_job *j)
{
	unsigned i;

	while ((i = atomic_fetch_add(&j->next, 1)) < j->n) {
		j->fn(j->ctx, i);
		atomic_fetch_add(&j->done, 1);
	}
}

static void *pool_worker(void *arg)
{
	struct wg_pool *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct pool_job *j;

		while (!p->jobs && !p->stop)
			pthread_cond_wait(&p->work_cv, &p->mu);
		if (p->stop)
			break;
		j = p->jobs;
		j->users++;
		pthread_mutex_unlock(&p->mu);
		job_work(j);
		pthread_mutex_lock(&p->mu);
		/* Everything is claimed: nobody else should pick it up. */
		job_unlink_locked(p, j);
		j->users--;
		pthread_cond_broadcast(&p->done_cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int pool_new(struct wg_pool **out, unsigned workers)
{
	struct wg_pool *p;
	unsigned i;
	int ret;

	if (workers > POOL_MAX_WORKERS)
		return -EINVAL;
	p = calloc(1, sizeof(*p) + workers * sizeof(pthread_t));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work_cv, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	for (i = 0; i < workers; i++) {
		if ((ret = -pthread_create(&p->th[i], NULL, pool_worker, p))) {
			pool_free(p);
			return ret;
		}
		p->nthreads++;
	}
	*out = p;
	return 0;
}

void pool_free(struct wg_pool *p)
{
	unsigned i;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->th[i], NULL);
	pthread_cond_destroy(&p->work_cv);
	pthread_cond_destroy(&p->done_cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

unsigned pool_workers(const struct wg_pool *p)
{
	return p ? p->nthreads : 0;
}

void pool_run(struct wg_pool *p, unsigned n, pool_fn fn, void *ctx)
{
	struct pool_job j = { .fn = fn, .ctx = ctx, .n = n };
	unsigned i;

	if (!p || !p->nthreads || n < POOL_MIN_SPLIT) {
		for (i = 0; i < n; i++)
			fn(ctx, i);
		return;
	}
	pthread_mutex_lock(&p->mu);
	j.link = p->jobs;
	p->jobs = &j;
	j.linked = true;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);

	job_work(&j);

	pthread_mutex_lock(&p->mu);
	job_unlink_locked(p, &j);
	while (atomic_load(&j.done) < n || j.users)
		pthread_cond_wait(&p->done_cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
}
