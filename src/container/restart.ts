/**
 * Restart policies, as the supervisor carries them out (helper/restart.c): what a command reads of
 * a container that has one. While its command runs, the pidfile's 5th field counts its restarts;
 * between two runs (the back-off) its supervisor still holds it and the last run's exit file is
 * there, with the count as its 4th field: docker's "restarting" (statusOf says so).
 */
import type { Layout } from "../store/layout";
import { exitInfo, readPidfile } from "./state";

/** How often the container was started again by its restart policy (docker's RestartCount). */
export function restartCount(layout: Layout, id: string): number {
  return readPidfile(layout, id)?.restarts ?? exitInfo(layout, id)?.restarts ?? 0;
}
