// The slice of asterisk-manager 0.2.0 (node_modules/asterisk-manager/lib/ami.js) that
// src/ami/ami-connection.ts uses; the package ships no types. Only src/ami/ imports it.
declare module 'asterisk-manager' {
  namespace AsteriskManager {
    /**
     * A parsed AMI message. Keys are lower-cased by the library; a header repeated in one message
     * becomes an array, `Variable:`/`ChanVariable:` headers become an object.
     */
    type RawValue = string | string[] | Record<string, string>;
    interface RawMessage {
      [key: string]: RawValue | undefined;
    }

    /** Action headers: keys are lower-cased then capitalised by the library; values are stringified. */
    type ActionValue = string | number | boolean | undefined;
    interface Action {
      action: string;
      /** Used as-is when given (we always give one, the library's default is Date.now()). */
      actionid?: string;
      [header: string]: ActionValue;
    }

    /** `err` is the whole response when it is `Response: Error`. */
    type ActionCallback = (err: RawMessage | undefined, response?: RawMessage) => void;

    interface Manager {
      options: { port?: number; host: string; username: string; password: string; events: boolean | string };
      /** Opens the TCP connection; `callback` runs once it is connected (no login). */
      connect(port: number, host: string, callback?: () => void): void;
      /** Sends `Action: Login` with options.username / options.password; flushes held actions on success. */
      login(callback?: (err?: RawMessage) => void): void;
      /** Returns the ActionID used. Actions sent before login are held by the library (we never do). */
      action(action: Action, callback?: ActionCallback): string;
      /** Ends the socket only when it is open; otherwise just forgets it. */
      disconnect(callback?: () => void): void;
      isConnected(): boolean;

      on(event: 'managerevent', listener: (event: RawMessage) => void): void;
      on(event: 'close' | 'end' | 'connect', listener: () => void): void;
      on(event: 'error', listener: (err: Error) => void): void;
      removeAllListeners(event?: string): void;
    }
  }

  /** Not a class: a factory returning a plain object. With a falsy port it does not connect. */
  function AsteriskManager(port?: number, host?: string, username?: string, password?: string, events?: boolean): AsteriskManager.Manager;

  export = AsteriskManager;
}
