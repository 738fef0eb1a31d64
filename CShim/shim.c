#include "devstate_shim.h"

devstate_shim_lock *devstate_shim_lock_new(void)
{
    devstate_shim_lock *lock = malloc(sizeof(*lock));

    if (lock && pthread_mutex_init(&lock->mutex, NULL) != 0) {
        free(lock);
        lock = NULL;
    }
    return lock;
}

void devstate_shim_lock_free(devstate_shim_lock *lock)
{
    if (lock) {
        pthread_mutex_destroy(&lock->mutex);
        free(lock);
    }
}
