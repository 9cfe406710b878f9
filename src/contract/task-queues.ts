/**
 * Task queues of hepflow's worker pools. Workflows and CPU-bound activities run on the
 * CPU pool; training activities can be routed to the GPU pool. Pure constants: this
 * module is imported by workflow code.
 */
export const CPU_TASK_QUEUE = 'hepflow-cpu';
export const GPU_TASK_QUEUE = 'hepflow-gpu';
export type Pool = 'cpu' | 'gpu';
export const taskQueueOf = (pool: Pool): string => (pool === 'gpu' ? GPU_TASK_QUEUE : CPU_TASK_QUEUE);
