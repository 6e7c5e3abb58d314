/** A removed network (Testcontainers gives it no methods). */
export class StoppedNetwork {}
