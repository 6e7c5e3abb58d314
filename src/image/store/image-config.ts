/** The parts of an OCI/Docker image configuration mayfly reads (image-spec config.md). */
export interface ImageConfigFile {
  architecture?: string;
  os?: string;
  created?: string;
  author?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    ExposedPorts?: Record<string, object>;
    Volumes?: Record<string, object>;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
    Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
    /** SHELL: what shell-form RUN, CMD and ENTRYPOINT run with */
    Shell?: string[];
    /** ONBUILD: instructions run by builds FROM this image */
    OnBuild?: string[] | null;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; empty_layer?: boolean; comment?: string }[];
}
