/** A compose project after down() (Testcontainers gives it no methods). */
export class DownedDockerComposeEnvironment {}
