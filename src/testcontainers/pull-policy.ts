/** When an image is pulled: when missing (the default), or every time (`alwaysPull`); or a policy of your own. */

export interface ImagePullPolicy {
  /** true: pull even when the image is in the store */
  shouldPull(): boolean;
}

class DefaultPullPolicy implements ImagePullPolicy {
  shouldPull(): boolean {
    return false;
  }
}

class AlwaysPullPolicy implements ImagePullPolicy {
  shouldPull(): boolean {
    return true;
  }
}

export class PullPolicy {
  static defaultPolicy(): ImagePullPolicy {
    return new DefaultPullPolicy();
  }

  static alwaysPull(): ImagePullPolicy {
    return new AlwaysPullPolicy();
  }
}

/** mayfly's pull setting for a policy */
export function pullSetting(policy: ImagePullPolicy): 'always' | 'missing' {
  return policy.shouldPull() ? 'always' : 'missing';
}
