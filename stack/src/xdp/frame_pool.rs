//! Accounting of UMEM frames: every frame is in exactly one place at a time.
//!
//! A frame moves `Free → Fill` (given to the kernel to receive into), `Fill → Rx` (taken
//! from the RX ring, lent to the stack), `Rx → Free` (the stack is done with it), `Free →
//! Tx` (built by the stack, queued for or on the TX ring) and `Tx → Free` (reaped from the
//! completion ring). Every move names the state the frame must be in; a frame in any other
//! state is refused with an error, so a frame can neither be lost nor handed out twice,
//! whatever the kernel's rings return. Pure bookkeeping: no kernel is involved.

/// Index of a frame in the UMEM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FrameId(pub u32);

/// Where a frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameState {
    /// On the free list, owned by nobody.
    Free,
    /// On the fill ring: the kernel may receive into it.
    Fill,
    /// Taken from the RX ring, lent to the stack.
    Rx,
    /// Holds a frame to send: queued for the TX ring or on it, until completion.
    Tx,
}

impl FrameState {
    const ALL: [FrameState; 4] = [FrameState::Free, FrameState::Fill, FrameState::Rx, FrameState::Tx];

    fn index(self) -> usize {
        self as usize
    }
}

/// A move the accounting refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame {0:?} is not in the UMEM")]
    Unknown(FrameId),
    #[error("frame {frame:?} is {actual:?}, not {expected:?}")]
    WrongState { frame: FrameId, expected: FrameState, actual: FrameState },
}

/// The state of every frame of one UMEM, and the free list.
#[derive(Debug, Clone)]
pub struct FramePool {
    states: Vec<FrameState>,
    free: Vec<FrameId>,
    counts: [u32; 4],
}

impl FramePool {
    /// A pool of `frames` frames, all free.
    pub fn new(frames: u32) -> FramePool {
        // Lowest index on top, so frames are handed out in order.
        let free = (0..frames).rev().map(FrameId).collect();
        FramePool { states: vec![FrameState::Free; frames as usize], free, counts: [frames, 0, 0, 0] }
    }

    /// How many frames the UMEM has.
    pub fn len(&self) -> u32 {
        self.states.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// How many frames are in `state`.
    pub fn count(&self, state: FrameState) -> u32 {
        self.counts[state.index()]
    }

    pub fn state(&self, frame: FrameId) -> Option<FrameState> {
        self.states.get(frame.0 as usize).copied()
    }

    /// Takes a free frame and puts it in `to`; `None` when no frame is free (or `to` is
    /// [`FrameState::Free`], which is no allocation).
    pub fn alloc(&mut self, to: FrameState) -> Option<FrameId> {
        if to == FrameState::Free {
            return None;
        }
        let frame = self.free.pop()?;
        self.set(frame, FrameState::Free, to);
        Some(frame)
    }

    /// Moves `frame` from `from` to `to`, refusing if it is not in `from`.
    pub fn move_frame(&mut self, frame: FrameId, from: FrameState, to: FrameState) -> Result<(), FrameError> {
        let actual = self.state(frame).ok_or(FrameError::Unknown(frame))?;
        if actual != from {
            return Err(FrameError::WrongState { frame, expected: from, actual });
        }
        if from == FrameState::Free {
            // Only reachable for a frame not on top of the free list: take it out.
            let at = self.free.iter().rposition(|&f| f == frame).expect("free frames are on the free list");
            self.free.remove(at);
        }
        self.set(frame, from, to);
        if to == FrameState::Free {
            self.free.push(frame);
        }
        Ok(())
    }

    /// Returns `frame`, which must be in `from`, to the free list.
    pub fn release(&mut self, frame: FrameId, from: FrameState) -> Result<(), FrameError> {
        self.move_frame(frame, from, FrameState::Free)
    }

    fn set(&mut self, frame: FrameId, from: FrameState, to: FrameState) {
        self.states[frame.0 as usize] = to;
        self.counts[from.index()] -= 1;
        self.counts[to.index()] += 1;
    }

    /// Checks the invariants: the counts add up to the frames, and the free list holds
    /// exactly the free frames, each once. For tests and debug assertions.
    pub fn check(&self) -> Result<(), String> {
        let mut counted = [0u32; 4];
        for state in &self.states {
            counted[state.index()] += 1;
        }
        if counted != self.counts {
            return Err(format!("counts {:?} but states say {:?}", self.counts, counted));
        }
        let mut on_list = vec![false; self.states.len()];
        for &frame in &self.free {
            let slot = on_list.get_mut(frame.0 as usize).ok_or(format!("{frame:?} out of range"))?;
            if std::mem::replace(slot, true) {
                return Err(format!("{frame:?} twice on the free list"));
            }
            if self.states[frame.0 as usize] != FrameState::Free {
                return Err(format!("{frame:?} on the free list but {:?}", self.states[frame.0 as usize]));
            }
        }
        if self.free.len() as u32 != self.counts[FrameState::Free.index()] {
            return Err(format!("{} on the free list, {} free", self.free.len(), self.counts[0]));
        }
        let total: u32 = FrameState::ALL.iter().map(|&s| self.count(s)).sum();
        if total != self.len() {
            return Err(format!("{total} frames accounted for, {} exist", self.len()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn frames_cycle_through_receive_and_transmit() {
        let mut pool = FramePool::new(4);
        let a = pool.alloc(FrameState::Fill).unwrap();
        let b = pool.alloc(FrameState::Tx).unwrap();
        assert_eq!((a, b), (FrameId(0), FrameId(1)));
        pool.move_frame(a, FrameState::Fill, FrameState::Rx).unwrap();
        pool.release(a, FrameState::Rx).unwrap();
        pool.release(b, FrameState::Tx).unwrap();
        assert_eq!(pool.count(FrameState::Free), 4);
        pool.check().unwrap();
    }

    #[test]
    fn double_release_is_refused() {
        let mut pool = FramePool::new(2);
        let a = pool.alloc(FrameState::Tx).unwrap();
        pool.release(a, FrameState::Tx).unwrap();
        assert_eq!(
            pool.release(a, FrameState::Tx),
            Err(FrameError::WrongState { frame: a, expected: FrameState::Tx, actual: FrameState::Free })
        );
        pool.check().unwrap();
    }

    #[test]
    fn a_completion_for_a_frame_on_the_fill_ring_is_refused() {
        let mut pool = FramePool::new(2);
        let a = pool.alloc(FrameState::Fill).unwrap();
        assert!(pool.release(a, FrameState::Tx).is_err());
        assert_eq!(pool.state(a), Some(FrameState::Fill));
        assert_eq!(pool.release(FrameId(7), FrameState::Tx), Err(FrameError::Unknown(FrameId(7))));
        pool.check().unwrap();
    }

    #[test]
    fn exhaustion_returns_none_and_recovers() {
        let mut pool = FramePool::new(3);
        let frames: Vec<_> = (0..3).map(|_| pool.alloc(FrameState::Fill).unwrap()).collect();
        assert_eq!(pool.alloc(FrameState::Tx), None);
        pool.move_frame(frames[1], FrameState::Fill, FrameState::Rx).unwrap();
        pool.release(frames[1], FrameState::Rx).unwrap();
        assert_eq!(pool.alloc(FrameState::Tx), Some(frames[1]));
        pool.check().unwrap();
    }

    #[test]
    fn a_specific_free_frame_can_be_taken() {
        let mut pool = FramePool::new(4);
        pool.move_frame(FrameId(2), FrameState::Free, FrameState::Fill).unwrap();
        let rest: Vec<_> = std::iter::from_fn(|| pool.alloc(FrameState::Tx)).collect();
        assert_eq!(rest, vec![FrameId(0), FrameId(1), FrameId(3)]);
        pool.check().unwrap();
    }

    /// An operation on the pool, as the device and a confused kernel might issue them.
    #[derive(Debug, Clone)]
    enum Op {
        Alloc(FrameState),
        Move(u32, FrameState, FrameState),
    }

    fn state() -> impl Strategy<Value = FrameState> {
        prop::sample::select(FrameState::ALL.to_vec())
    }

    fn op(frames: u32) -> impl Strategy<Value = Op> {
        prop_oneof![
            state().prop_map(Op::Alloc),
            (0..frames + 2, state(), state()).prop_map(|(f, from, to)| Op::Move(f, from, to)),
        ]
    }

    proptest! {
        /// Against a model (a plain state per frame), every accepted move matches the model,
        /// every refused one leaves the pool unchanged, and the invariants always hold.
        #[test]
        fn accounting_matches_a_model(frames in 1u32..12, ops in prop::collection::vec(op(12), 0..200)) {
            let mut pool = FramePool::new(frames);
            let mut model = vec![FrameState::Free; frames as usize];
            for op in ops {
                match op {
                    Op::Alloc(to) => match pool.alloc(to) {
                        Some(frame) => {
                            prop_assert_ne!(to, FrameState::Free);
                            prop_assert_eq!(model[frame.0 as usize], FrameState::Free);
                            model[frame.0 as usize] = to;
                        }
                        None => prop_assert!(to == FrameState::Free || model.iter().all(|&s| s != FrameState::Free)),
                    },
                    Op::Move(f, from, to) => {
                        let expected_ok = model.get(f as usize) == Some(&from);
                        let result = pool.move_frame(FrameId(f), from, to);
                        prop_assert_eq!(result.is_ok(), expected_ok, "{:?}", result);
                        if expected_ok {
                            model[f as usize] = to;
                        }
                    }
                }
                prop_assert_eq!(pool.check(), Ok(()));
                for (i, &s) in model.iter().enumerate() {
                    prop_assert_eq!(pool.state(FrameId(i as u32)), Some(s));
                }
            }
        }
    }
}
