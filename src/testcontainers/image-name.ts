/** An image reference as Testcontainers splits it: registry (when one is named), image, tag (or digest). */
import { parseReference } from '../image/reference.js';

export class ImageName {
  readonly string: string;

  constructor(
    readonly registry: string | undefined,
    readonly image: string,
    readonly tag: string,
  ) {
    const at = tag.startsWith('sha256:') ? '@' : ':';
    this.string = `${registry ? `${registry}/` : ''}${image}${at}${tag}`;
  }

  equals(other: ImageName): boolean {
    return this.registry === other.registry && this.image === other.image && this.tag === other.tag;
  }

  /** `postgres:16`, `127.0.0.1:5000/app@sha256:…`; checked as Docker reads it */
  static fromString(text: string): ImageName {
    const ref = parseReference(text); // a malformed name fails here
    const first = text.split('/')[0]!;
    const named = text.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
    const rest = named ? text.slice(first.length + 1) : text;
    const image = rest.replace(/@.*$/, '').replace(/:[^:/]*$/, '');
    return new ImageName(named ? first : undefined, image, ref.digest ?? ref.tag ?? 'latest');
  }
}
